"""The worker's sync path: envelopes from `dossier.sync` (and `POST /sync`) into lifecycle events.

`LiveSync.handle(records)` is the `dossier.sync` agent's handler: it converts a fetch of
envelopes in the pipeline's executor (where every store call runs: the seen snapshots are
read there), sends the lifecycle events to the events topic keyed by their dossier —
the events agent then processes them like any other — writes the sync dead letters
through the pipeline, and stores the changed snapshots last. Only then does the agent
acknowledge the envelopes: a crash before that converts them again into the same
event ids, which the pipeline ignores. A failure that is not a passing store outage
stops the worker, like a failed batch. `make_converter` builds the converter any job uses.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import orjson
import structlog

from stream_app.clock import Clock, utc_now
from stream_app.core.output import Record
from stream_app.core.pipeline import Pipeline
from stream_app.core.ports import StoreUnavailable
from stream_app.domain.directory import Directory
from stream_app.settings import Settings
from stream_app.store.seen import SeenTable
from stream_app.sync.convert import Context
from stream_app.sync.ingest import SEEN_COLUMNS, SyncConverter
from stream_app.sync.mapping import Mapping

log = structlog.get_logger(__name__)

HELD_DOSSIERS = 50_000  # snapshots kept in memory between fetches; the store has them all
RETRY_S = (0.5, 1, 2, 5, 10, 30)

Send = Callable[[list[tuple[bytes, bytes]]], Awaitable[None]]


def make_converter(settings: Settings, client: Any, directory: Directory) -> tuple[SyncConverter, SeenTable]:
    """The converter of a job, reading and writing the seen snapshots in its store."""
    seen = SeenTable(client, settings.database, SEEN_COLUMNS)
    return SyncConverter(Context(Mapping.load(settings.sync_mapping), directory), seen.load), seen


class LiveSync:
    def __init__(self, converter: SyncConverter, seen: SeenTable, pipeline: Pipeline, send_events: Send,
                 now: Clock = utc_now) -> None:
        self.converter = converter
        self.seen = seen
        self.pipeline = pipeline
        self.send_events = send_events
        self.now = now

    async def handle(self, records: list[Record]) -> None:
        try:
            await self._handle(records)
        except Exception as exc:  # a bug, not bad input: stop the worker, nothing acknowledged
            log.error("sync.failed", error=type(exc).__name__, detail=str(exc)[:200], records=len(records))
            self.pipeline.failure = exc  # the worker's loop stops on it (jobs.until.raise_if_broken)
            raise

    async def _handle(self, records: list[Record]) -> None:
        if not records:
            return
        lines = [(r.source, r.raw) for r in records]
        converted = await self._retrying(self.converter.convert, lines)
        await self.send_events([(e["dossier_id"].encode(), orjson.dumps(e)) for _, e in converted.events])
        if converted.dead_letters:
            for dl in converted.dead_letters:
                await self.pipeline.call(self.pipeline.processor.add_dead_letter, dl)
            await self.pipeline.handle([])  # written and published with the pipeline's commit
        await self._retrying(self.seen.write, self.converter.seen_rows(self.now()))
        if len(self.converter.known) > HELD_DOSSIERS:
            self.converter.forget()
        log.info("sync.converted", envelopes=len(records), events=len(converted.events),
                 dead_letters=len(converted.dead_letters))

    async def _retrying(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A store call in the pipeline's executor, retried while the store is passing trouble."""
        for delay in (*RETRY_S, None):
            try:
                return await self.pipeline.call(fn, *args)
            except StoreUnavailable:
                if delay is None:
                    raise
                log.warning("sync.store_unavailable", retry_in_s=delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
