"""The Faust agent: the events topic, a chunk at a time, through the pipeline.

The agent is registered on an app built elsewhere (`kafka.app.build_app`) with
the batch handler it feeds (`core.pipeline.Pipeline.handle`). The `dossier://`
transport (`kafka.transport`) delivers each partition's share of a fetch as one
stream event holding a `RecordChunk`; the agent hands the chunks of a fetch (in a
replay, of several fetches: `window`) to the handler together and acknowledges
them only after it has written and published everything they produced
(`noack_take`: Faust would otherwise acknowledge on its own, even after an error),
so offsets never pass unwritten rows. One actor per worker (concurrency 1): a dossier's events must
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
REPLAY_WITHIN_S = 0.1


def register(app: faust.App, settings: Settings, handle: Handle, *, live: bool = True) -> None:
    # Raw bytes in and out: validation is ours (schemas.parse), so a malformed
    # record becomes a dead letter instead of crashing the agent in Faust's codec.
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw",
           "partitions": settings.partitions}
    events = app.topic(settings.events_topic, **raw)
    for name in (settings.alerts_topic, settings.dlq_topic):
        app.topic(name, **raw)  # declared with the app, so it is created like the others

    chunks, within = window(settings, live=live)

    @app.agent(events, name="dossier-events", concurrency=1)
    async def dossier_events(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(chunks, within=within):
            records = [r for e in events for r in records_of(e.value, settings.events_topic)]
            await handle(records)
            for e in events:
                await stream.ack(e)


def window(settings: Settings, *, live: bool) -> tuple[int, float]:
    """How many chunks the agent hands over together, and how long it waits for them.

    One fetch's chunks (one per partition), a lone chunk waiting at most 10 ms for
    company: one flush of each table per fetch, an event's alert out with its fetch.
    That is the live worker's always, and a replay's by default. A replay with a wider
    `replay_window` takes the chunks of `replay_window / batch_size` fetches (a worker
    owning fewer partitions gets fewer chunks a fetch, so more fetches), waiting at most
    100 ms for them (a backlog fills the window at once; the end of the file waits
    once): each dossier's changes in the window fold into one state row, and the
    tables take fewer, larger inserts."""
    fetches = 1 if live else max(1, -(-settings.replay_window // settings.batch_size))
    return settings.partitions * fetches, TAKE_WITHIN_S if fetches == 1 else REPLAY_WITHIN_S


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
