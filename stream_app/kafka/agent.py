"""The Faust agent: the events topic, a chunk at a time, through the pipeline.

The agent is registered on an app built elsewhere (`kafka.app.build_app`) with
the batch handler it feeds (`core.pipeline.Pipeline.handle`). The `dossier://`
transport (`kafka.transport`) delivers each partition's share of a fetch as one
stream event holding a `RecordChunk`; the agent hands the chunks of a fetch to
the handler together and acknowledges them only after it has written and
published everything they produced (`noack_take`:
Faust would otherwise acknowledge on its own, even after an error), so offsets
never pass unwritten rows. One actor per worker (concurrency 1): a dossier's events must
be handled in order.
"""

from __future__ import annotations

from typing import Awaitable, Callable

import faust

from stream_app.core.output import Record
from stream_app.kafka.transport import RecordChunk
from stream_app.settings import Settings

Handle = Callable[[list[Record]], Awaitable[None]]

TAKE_WITHIN_S = 0.01


def register(app: faust.App, settings: Settings, handle: Handle) -> None:
    # Raw bytes in and out: validation is ours (schemas.parse), so a malformed
    # record becomes a dead letter instead of crashing the agent in Faust's codec.
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw",
           "partitions": settings.partitions}
    events = app.topic(settings.events_topic, **raw)
    for name in (settings.alerts_topic, settings.dlq_topic):
        app.topic(name, **raw)  # declared with the app, so it is created like the others

    @app.agent(events, name="dossier-events", concurrency=1)
    async def dossier_events(stream: faust.StreamT) -> None:
        # The chunks of one fetch (one per partition) are handled together: one flush
        # of each table instead of one per partition, and more of a dossier's events
        # folded into one state row. A lone chunk waits at most 10 ms for company.
        async for events in stream.noack_take(settings.partitions, within=TAKE_WITHIN_S):
            records = [r for e in events for r in records_of(e.value, settings.events_topic)]
            await handle(records)
            for e in events:
                await stream.ack(e)


def records_of(chunk: RecordChunk, topic: str) -> list[Record]:
    return [
        Record(
            raw=r.value if isinstance(r.value, bytes) else bytes(r.value or b""),
            key=r.key,
            partition=r.partition,
            offset=r.offset,
            source=f"{topic}/{r.partition}/{r.offset}",
        )
        for r in chunk.records
    ]
