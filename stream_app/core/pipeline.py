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
Alert messages leave through channels (the alerts topic, webhooks, e-mail),
each through the store's outbox: their delivery rows are written before the
alert rows, and marked once sent. What a stopped worker left unsent is sent
first thing when the pipeline next commits. A live worker gives `catch_up`:
an alert emitted longer than that after it came due (downtime, a backlog)
waits in the outbox for a digest per unit, which the live worker's dispatcher
(`core.dispatch`) forms and sends; the alerts topic and table keep every alert.

Every collaborator comes in through the constructor, as a port
(`core.ports`): the store, the publisher, the channels; the clock and the
partitions this worker owns come with the processor and the job.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

import structlog

from stream_app.core.output import Output, Record
from stream_app.core.ports import BatchStore, Channel, Delivery, Publisher, StoreUnavailable, batches
from stream_app.core.processor import Processor
from stream_app.schemas.parse import DeadLetter

log = structlog.get_logger(__name__)

# Webhook deliveries are recorded this many at a time: the most a crash can repeat
# (a channel may say otherwise: `chunk`, e.g. the alerts topic, where a repeat is cheap).
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
        channels: Sequence[Channel] = (),
        catch_up: timedelta | None = None,
        on_alert: AlertCallback | None = None,
        owned: Callable[[], list[int]] | None = None,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.processor = processor
        self.store = store
        self.publisher = publisher
        self.channels = {c.name: c for c in channels}
        # Live only: an alert emitted longer than this after it came due waits for a digest.
        self.catch_up = catch_up
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
            await self.settle()

    async def take_over(self, partitions: list[int], restore: Callable[[list[int]], Any]) -> None:
        """Partitions newly assigned to this worker (another stopped or left): restore their
        active dossiers (`restore(partitions)` reads and hands them to the processor, in the
        executor), so their timers fire here, and write what the restore repairs."""
        async with self._lock:
            await self.call(restore, partitions)
            await self._commit(await self.call(self.processor.drain))

    async def add_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        """Records that never reached the broker (too large to be Kafka records): dead
        letters, written and published now."""
        def add() -> None:
            for d in dead:
                self.processor.add_dead_letter(d)

        await self.call(add)
        await self.handle([])

    async def let_go(self, partitions: list[int]) -> None:
        """Partitions this worker no longer owns: forget its copies of their dossiers (what
        waited out the lateness there is written as dead letters)."""
        async with self._lock:
            await self._commit(await self.call(self.processor.forget, partitions))

    async def start(self) -> None:
        """Send what a stopped worker left unsent (once; also done by the first commit).
        E-mail is the dispatcher's (`dispatched` channels): it alone sends those."""
        if self._started:
            return
        self._started = True
        names = [n for n, c in self.channels.items() if not getattr(c, "dispatched", False)]
        if not names:
            return
        pending = await self.until_done(self.store.pending_deliveries, names)
        if pending:
            log.warning("outbox.redelivering", deliveries=len(pending))
            sent = await self.send(pending)
            if sent < len(pending):  # their endpoint is no longer configured: they stay pending
                log.warning("outbox.unconfigured_endpoint", deliveries=len(pending) - sent)

    async def _commit(self, out: Output, force_progress: bool = False) -> None:
        """1. stage the rows, the outbox's deliveries and the progress; 2. write them in
        the store's commit order; 3. publish dead letters; 4. send the alert messages
        through their channels (the alerts topic first) and mark them; 5. tell the job
        about the alerts."""
        await self.start()
        messages = [a.as_json() for a in out.alerts]
        deliveries = self._deliveries(out, messages) if messages else []
        mark = self.processor.low_watermark(self.owned() if self.owned is not None else None)
        saved = self._saved_watermark
        progress = mark if mark is not None and (force_progress or saved is None or mark > saved) else None
        if out or progress is not None or deliveries:
            await self.call(self.store.stage, out, progress, deliveries)
            await self.until_done(self.store.flush)
            self._saved_watermark = mark
        if self.publisher is not None and out.dead_letters:
            await self.publisher.publish([], out.dead_letters)
        ready = [d for d in deliveries if d.batch]  # the others wait for a digest
        if ready:
            # A message recomputed after a crash may have gone already: ask the outbox, except
            # on a channel where a repeat is harmless (the alerts topic: consumers drop it by
            # alert id and version), which spares the live path a query per batch.
            checked = [d for d in ready if not self._repeats_harmless(d.channel)]
            if checked:
                checked = await self.until_done(self.store.undelivered, checked)
            await self.send([d for d in ready if self._repeats_harmless(d.channel)] + checked)
        if messages and self.on_alert is not None:
            for msg in messages:
                self.on_alert(msg)

    def _deliveries(self, out: Output, messages: list[dict[str, Any]]) -> list[Delivery]:
        """What every channel owes for these messages; live, the ones that came due long
        before now (`catch_up`) wait for a digest."""
        fresh, late = messages, []
        if self.catch_up is not None and out.at is not None:
            cut = out.at - self.catch_up
            fresh, late = [], []
            for a, m in zip(out.alerts, messages):
                (late if a.spec.fires_at < cut else fresh).append(m)
        deliveries: list[Delivery] = []
        for channel in self.channels.values():
            deliveries += channel.deliveries(fresh)
            if late:
                deliveries += channel.deliveries(late, catch_up=True)
        return deliveries

    async def until_done(self, fn: Callable[..., Any], *args: Any) -> Any:
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

    async def send(self, deliveries: Sequence[Delivery]) -> int:
        """Send deliveries in their batches and record the outcomes, channel by channel in
        order (the alerts topic first), a chunk at a time: a crash can repeat at most one
        chunk's sends. Returns how many got an outcome (an endpoint no longer configured
        gets none: its rows stay pending)."""
        by_channel: dict[str, list[Delivery]] = {}
        for d in deliveries:
            by_channel.setdefault(d.channel, []).append(d)
        done = 0
        for name, channel in self.channels.items():
            todo = batches(by_channel.get(name, []))
            chunk = getattr(channel, "chunk", DELIVERY_CHUNK)
            i = 0
            while i < len(todo):
                part, size = [], 0
                while i < len(todo) and (not part or size + len(todo[i].deliveries) <= chunk):
                    part.append(todo[i])
                    size += len(todo[i].deliveries)
                    i += 1
                outcomes = await channel.send(part)
                if self._repeats_harmless(name):  # marked with the next outbox write: a crash before it repeats them
                    await self.call(self.store.mark_later, outcomes)
                else:
                    await self.until_done(self.store.mark, outcomes)
                done += len(outcomes)
        return done

    def _repeats_harmless(self, channel: str) -> bool:
        return bool(getattr(self.channels.get(channel), "repeats_harmless", False))

    async def settle(self) -> None:
        """Write the marks still held for the next write (at the end of a job; once, no retry:
        a store that is down now only means those messages are sent again by the next start)."""
        try:
            await self.call(self.store.settle)
        except Exception as exc:  # noqa: BLE001 - at worst a repeat on the alerts topic
            log.warning("outbox.marks_not_written", error=type(exc).__name__)

    async def dispatch(self, now: datetime) -> int:
        """The live worker's dispatcher (the one worker that sends e-mail, once caught up):
        send what a dispatched channel left unsent (a digest a crash or an outage
        interrupted: the same id, the same content), then form the digests that are due
        from the deliveries waiting in the outbox — a channel's `digests(waiting, now)`
        decides (webhooks: at once, one per URL and unit; e-mail: per unit, once its
        oldest has waited its minute) — record them as `sending`, send them and mark
        them. `now` is the real wall clock, the one the outbox's enqueue times are on.
        Returns how many deliveries got an outcome."""
        done = 0
        names = [n for n, c in self.channels.items() if getattr(c, "dispatched", False)]
        if names:
            unsent = await self.until_done(self.store.pending_deliveries, names)
            if unsent:
                done += await self.send(unsent)
        for name, channel in self.channels.items():
            form = getattr(channel, "digests", None)
            if form is None:
                continue
            waiting = await self.until_done(self.store.waiting, name)
            ready = form(waiting, now) if waiting else []
            if ready:
                claimed = await self.until_done(self.store.claim, ready)
                done += await self.send([d for b in claimed for d in b.deliveries])
        return done

    def close(self) -> None:
        self.executor.shutdown(wait=True)
