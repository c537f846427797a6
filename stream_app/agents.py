"""The Faust agent: the events topic, in batches, through the pipeline.

The agent is registered on an app built elsewhere (`app.build_app`). It takes
batches with `noack_take` and acknowledges each batch only after the pipeline
has written and published everything the batch produced — Faust acknowledges
a `take()` batch in a `finally` even on error, which would break
at-least-once. One actor per worker (concurrency 1): a dossier's events must
be handled in order.
"""

from __future__ import annotations

from typing import Any

import faust

from .pipeline import Pipeline
from .processor import Record
from .settings import Settings


def register(app: faust.App, settings: Settings, pipeline: Pipeline) -> None:
    # Raw bytes in and out: validation is ours (schemas.parse), so a malformed
    # record becomes a dead letter instead of crashing the agent in Faust's codec.
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw",
           "partitions": settings.partitions}
    events = app.topic(settings.events_topic, **raw)
    out_topics = {name: app.topic(name, **raw) for name in (settings.alerts_topic, settings.dlq_topic)}

    async def send(topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]] | None) -> Any:
        return await out_topics[topic].send(key=key, value=value, headers=headers)

    pipeline.send = send

    @app.agent(events, name="dossier-events", concurrency=1)
    async def dossier_events(stream: faust.StreamT) -> None:
        async for batch in stream.noack_take(settings.batch_size, settings.batch_within_s):
            records = [_record(e, settings.events_topic) for e in batch]
            await pipeline.handle(records)
            for e in batch:
                await stream.ack(e)


def _record(event: Any, topic: str) -> Record:
    msg = event.message
    return Record(
        raw=msg.value if isinstance(msg.value, bytes) else bytes(msg.value or b""),
        key=msg.key,
        partition=msg.partition,
        offset=msg.offset,
        source=f"{topic}/{msg.partition}/{msg.offset}",
    )
