"""The worker's commit: processor → store → topics → webhooks, then acknowledge.

`Pipeline.handle(records)` runs one batch through the processor, in a
single-thread executor that also owns every store call (chDB allows one
writer per process; state has one writer; the event loop keeps heart-beating),
and commits what it produced in numbered steps (`_commit`). Only then does it
return, and the Kafka agent acknowledges the batch after that, so offsets
never pass unwritten rows. A store write that fails for a reason that passes
(`StoreUnavailable`: connection trouble, timeouts, overload) is retried with
backoff until it succeeds, the outage logged once when it starts and once when it
ends; any other store error stops the job at once, nothing of the batch acknowledged.
What a stopped worker left pending in the outbox is posted first thing when
the pipeline next commits.

Every collaborator comes in through the constructor, as a port
(`core.ports`): the store, the publisher, the notifier; the clock and the
partitions this worker owns come with the processor and the job.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Callable

import structlog

from stream_app.core.output import Output, Record
from stream_app.core.ports import BatchStore, Delivery, Notifier, Publisher, StoreUnavailable
from stream_app.core.processor import Processor

log = structlog.get_logger(__name__)

# Webhook deliveries are recorded this many at a time: the most a crash can repeat.
DELIVERY_CHUNK = 64

AlertCallback = Callable[[dict[str, Any]], None]


class ProcessingFailed(RuntimeError):
    """A batch could not be processed; nothing of it was acknowledged."""


class Pipeline:
    def __init__(
        self,
        processor: Processor,
        store: BatchStore,
        publisher: Publisher | None = None,
        *,
        notifier: Notifier | None = None,
        on_alert: AlertCallback | None = None,
        owned: Callable[[], list[int]] | None = None,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.processor = processor
        self.store = store
        self.publisher = publisher
        self.notifier = notifier
        self.on_alert = on_alert
        # The partitions this worker owns (a live worker sharing them with others): the
        # watermark it persists is theirs. None: all of them (a replay).
        self.owned = owned
        self.max_backoff_s = max_backoff_s
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipeline")
        self.positions: dict[int, int] = {}  # partition -> next offset to process
        self.processed = 0
        self._saved_watermark: datetime | None = processor.resumed_watermark  # never persist a lower one
        self._started = False
        self._lock = asyncio.Lock()
        self.batch_done = asyncio.Event()  # set after every handled batch (the live worker waits on it)
        # A batch that raised (never acknowledged): the job stops with its error instead of
        # Faust restarting the agent on the next records (see jobs.until.raise_if_broken).
        self.failure: BaseException | None = None

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking call in the executor that owns the processor and the store."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def reached(self, ends: dict[int, int]) -> bool:
        """Has every partition been processed up to (not including) its end offset?"""
        return all(self.positions.get(p, 0) >= end for p, end in ends.items())

    async def handle(self, records: list[Record]) -> None:
        if self.failure is not None:  # Faust restarts a crashed agent: it must not carry on past the failure
            raise ProcessingFailed("the pipeline stopped after an earlier failure") from self.failure
        try:
            async with self._lock:
                out = await self.call(self.processor.process, records)
                await self._commit(out)
                for r in records:
                    self.positions[r.partition] = max(self.positions.get(r.partition, 0), r.offset + 1)
                self.processed += len(records)
        except Exception as exc:  # a bug, not bad input (that is a dead letter): stop, loudly
            self.failure = exc
            log.error("pipeline.failed", error=type(exc).__name__, detail=str(exc)[:200], records=len(records),
                      first=f"{records[0].partition}/{records[0].offset}" if records else None, exc_info=True)
            raise
        self.batch_done.set()

    async def advance(self, watermark: datetime, partitions: list[int] | None = None) -> None:
        async with self._lock:
            out = await self.call(self.processor.advance, watermark, partitions)
            await self._commit(out)

    async def finish(self, as_of: datetime, partitions: list[int] | None = None) -> None:
        async with self._lock:
            out = await self.call(self.processor.finish, as_of, partitions)
            await self._commit(out, force_progress=True)

    async def take_over(self, partitions: list[int], restore: Callable[[list[int]], Any]) -> None:
        """Partitions newly assigned to this worker (another stopped or left): restore their
        active dossiers (`restore(partitions)` reads and hands them to the processor, in the
        executor), so their timers fire here, and write what the restore repairs."""
        async with self._lock:
            await self.call(restore, partitions)
            await self._commit(await self.call(self.processor.drain))

    async def let_go(self, partitions: list[int]) -> None:
        """Partitions this worker no longer owns: forget its copies of their dossiers."""
        async with self._lock:
            await self.call(self.processor.forget, partitions)

    async def start(self) -> None:
        """Post the webhooks a stopped worker left pending (once; also done by the first commit)."""
        if self._started:
            return
        self._started = True
        if self.notifier is None:
            return
        pending = await self._until_done(self.store.pending_deliveries)
        if pending:
            log.warning("webhook.redelivering", deliveries=len(pending))
            posted = await self._deliver(pending)
            if posted < len(pending):  # their URL is no longer configured: they stay pending
                log.warning("webhook.unconfigured_endpoint", deliveries=len(pending) - posted)

    async def _commit(self, out: Output, force_progress: bool = False) -> None:
        """1. stage the rows, the outbox's deliveries and the progress; 2. write them in
        the store's commit order; 3. publish alerts and dead letters; 4. post webhooks
        and mark them; 5. tell the job about the alerts."""
        await self.start()
        messages = [a.as_json() for a in out.alerts]
        deliveries = self.notifier.deliveries(messages) if self.notifier is not None else []
        mark = self.processor.low_watermark(self.owned() if self.owned is not None else None)
        saved = self._saved_watermark
        progress = mark if mark is not None and (force_progress or saved is None or mark > saved) else None
        if out or progress is not None or deliveries:
            await self.call(self.store.stage, out, progress, deliveries)
            await self._until_done(self.store.flush)
            self._saved_watermark = mark
        if self.publisher is not None:
            await self.publisher.publish(messages, out.dead_letters)
        if messages:
            if self.notifier is not None:
                await self._deliver(await self._until_done(self.store.undelivered, deliveries))
            if self.on_alert is not None:
                for msg in messages:
                    self.on_alert(msg)

    async def _until_done(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a store call in the executor until it succeeds, retrying only what passes
        (`StoreUnavailable`) with bounded backoff, and logging the outage once when it
        starts and once when it ends; any other error stops the job with it."""
        delay, failing_since = 0.5, None
        while True:
            try:
                result = await self.call(fn, *args)
                if failing_since is not None:
                    log.warning("sink.recovered", outage_s=round(time.monotonic() - failing_since, 1))
                return result
            except StoreUnavailable as exc:  # keep the rows, wait, retry
                if failing_since is None:
                    failing_since = time.monotonic()
                    cause = exc.__cause__ or exc
                    log.error("sink.outage", error=type(cause).__name__, detail=str(cause)[:200],
                              pending=self.store.pending)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)

    async def _deliver(self, deliveries: list[Delivery]) -> int:
        """POST and record, a chunk at a time: a crash can repeat at most one chunk's POSTs."""
        if self.notifier is None:
            return 0
        posted = 0
        for i in range(0, len(deliveries), DELIVERY_CHUNK):
            outcomes = await self.notifier.post(deliveries[i:i + DELIVERY_CHUNK])
            await self._until_done(self.store.mark, outcomes)
            posted += len(outcomes)
        return posted

    def close(self) -> None:
        self.executor.shutdown(wait=True)
