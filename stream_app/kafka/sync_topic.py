"""The `dossier.sync` topic: raw sync envelopes, consumed by the worker, and what it sends on.

For provinces that already have a bus, and for the worker's own `POST /sync`: envelopes
arrive on `dossier.sync` (one partition: the converter compares each record with the one
before, so the order of a dossier's records is the order of the topic, whoever keys
them), and the agent hands them, a fetch at a time, to the handler the job gives it —
the converter — acknowledging them only once it returned: the lifecycle events it made
are on the events topic and the snapshots stored. `send` is the one way the worker puts
records on a topic from outside the pipeline (the converted events, the endpoint's
envelopes), returning once the broker has every one.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import faust

from stream_app.core.output import Record
from stream_app.kafka.agent import records_of
from stream_app.settings import Settings

SYNC_PARTITIONS = 1
TAKE = 500
TAKE_WITHIN_S = 0.05

Handle = Callable[[list[Record]], Awaitable[None]]


def register_sync_agent(app: faust.App, settings: Settings, handle: Handle) -> None:
    topic = app.topic(settings.sync_topic, key_type=bytes, value_type=bytes, key_serializer="raw",
                      value_serializer="raw", partitions=SYNC_PARTITIONS)

    @app.agent(topic, name="dossier-sync", concurrency=1)
    async def dossier_sync(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(TAKE, within=TAKE_WITHIN_S):
            await handle([r for e in events for r in records_of(e.value, settings.sync_topic)])
            for e in events:
                await stream.ack(e)


async def send(app: faust.App, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Produce (key, value) records and wait until the broker acknowledged them all."""
    futures = [await app.producer.send(topic, key, value, None, None, None) for key, value in records]
    for f in futures:
        if isinstance(f, asyncio.Future):
            await f
