"""`dossier-stream replay`: a feed, paced, into the events topic, resumable — to a cluster or in-process.

Both ways use one kafka-python producer with `max_in_flight=1` and the
dossier code as the key, so a dossier's events land in one partition in feed
order. `to_cluster` only produces (the cluster's own workers consume); the
checkpoint follows the broker's acknowledgements. `embedded` runs the worker
in this process like `run` does (the embedded broker keeps nothing, so a
record counts as done only once the worker has written it to ClickHouse and
is not holding it in its lateness window), then fires the timers up to
`--as-of` once everything is processed. An interrupted replay saves its
checkpoint and stops without that final step, exactly like a crash, so that
resuming it continues the same stream.

In-process, each record's partition and offset are decided before it is
sent (explicit partition, offsets counted from the fresh topic's 0, checked
against the broker's answer) so the worker can name a dead letter's file and
line even when it consumes the record before the producer saw the ack.

A record too large to be a Kafka record (`kafka.producer.too_large`: over the
producer's `max_request_size` less a margin) is never sent, so it cannot abort
the replay. In-process it becomes a `schema_error` dead letter with its label,
written by the worker before the next record is sent, like `run`. To a cluster
it is skipped: logged (`replay.too_large`, with its label and size) and counted
in `ReplayResult.too_large`; the cluster's workers never see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import structlog

from stream_app.jobs.run import Summary
from stream_app.jobs.stack import Stack
from stream_app.jobs.until import until
from stream_app.kafka.producer import max_record_bytes, partition_of, producer, too_large
from stream_app.replay.feed import Item
from stream_app.replay.pace import Pacer
from stream_app.replay.resume import Checkpoint, Ledger, Sent, acknowledged

log = structlog.get_logger(__name__)

# (stage, done, total, event time of the latest record) -> None; stages "produce", "process".
Progress = Callable[[str, int, int | None, datetime | None], None]
CHECKPOINT_EVERY_S = 1.0


class Feed(Protocol):
    name: str
    skipped: int

    def items(self, after: Any = None) -> Iterator[Item]: ...

    def count(self, after: Any = None) -> int: ...


@dataclass
class ReplayResult:
    sent: int = 0  # produced in this session
    done_before: int = 0  # done by earlier sessions of this checkpoint
    done: int = 0  # done in all sessions of this checkpoint
    total: int | None = None  # selected records still to send at the start of this session
    skipped: int = 0
    too_large: int = 0  # records too large to be Kafka records: not sent (dead letters in-process)
    resumed: bool = False
    complete: bool = False
    elapsed_s: float = 0.0
    checkpoint: Path | None = None
    summary: Any = None  # runner.Summary for the in-process worker
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _latest(checkpoint: Checkpoint) -> datetime | None:
    t = checkpoint.extra.get("max_occurred_at")
    return datetime.fromisoformat(t) if t else None


def _note_time(checkpoint: Checkpoint, t: datetime | None) -> None:
    latest = _latest(checkpoint)
    if t is not None and (latest is None or t > latest):
        checkpoint.extra["max_occurred_at"] = t.isoformat()


def _advance(checkpoint: Checkpoint, ledger: Ledger, done: Callable[[Sent], bool], save: bool = True) -> None:
    moved = ledger.advance(done)
    if moved is not None:
        checkpoint.position, n = moved
        checkpoint.done += n
    if save:
        checkpoint.save()


# ------------------------------------------------------------------ cluster
def to_cluster(
    feed: Feed, *, bootstrap: str, topic: str, pacer: Pacer, checkpoint: Checkpoint,
    client_config: dict[str, Any] | None = None, stop: threading.Event | None = None,
    on_progress: Progress | None = None,
) -> ReplayResult:
    """Produce the feed into `topic`; the checkpoint follows the broker's acknowledgements."""
    stop = stop or threading.Event()
    result = ReplayResult(resumed=checkpoint.resumed, checkpoint=checkpoint.path, done=checkpoint.done,
                          done_before=checkpoint.done)
    if checkpoint.complete:
        result.complete = True
        return result
    t0 = time.perf_counter()
    result.total = feed.count(checkpoint.position)
    ledger = Ledger()
    kafka = producer(bootstrap, client_config, paced=pacer.speed is not None)
    limit = max_record_bytes(client_config)
    saved_at = time.monotonic()
    try:
        for item in feed.items(checkpoint.position):
            pacer.wait(item.occurred_at)
            if stop.is_set():
                break
            if too_large(item.label, item.raw, item.key, limit) is not None:
                log.warning("replay.too_large", source=item.label, bytes=len(item.raw), limit=limit,
                            detail="not sent: too large to be a Kafka record")
                result.too_large += 1
                continue
            ledger.add(Sent(item.position, item.label, kafka.send(topic, key=item.key, value=item.raw)))
            _note_time(checkpoint, item.occurred_at)
            result.sent += 1
            if on_progress is not None:
                on_progress("produce", result.sent, result.total, item.occurred_at)
            if time.monotonic() - saved_at >= CHECKPOINT_EVERY_S:
                _advance(checkpoint, ledger, acknowledged)
                saved_at = time.monotonic()
        else:
            kafka.flush()
            result.complete = True
    finally:
        # Whatever was handed over is delivered before the checkpoint is taken, even on Ctrl-C.
        with contextlib.suppress(Exception):
            kafka.flush(timeout=30)
        kafka.close(timeout=5)
        _advance(checkpoint, ledger, acknowledged, save=False)
        checkpoint.complete = result.complete and len(ledger) == 0
        checkpoint.save()
        result.skipped, result.done = feed.skipped, checkpoint.done
        result.elapsed_s = time.perf_counter() - t0
    log.info("replay.produced", source=feed.name, records=result.sent, complete=result.complete,
             too_large=result.too_large, duration_s=round(result.elapsed_s, 2))
    return result


# ----------------------------------------------------------------- embedded
class _Offsets:
    """Where the next record of a key lands on a fresh topic: explicit partition, counted offset."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.next: dict[int, int] = {}

    def place(self, key: bytes) -> tuple[int, int]:
        p = partition_of(key, self.partitions)
        o = self.next.get(p, 0)
        self.next[p] = o + 1
        return p, o


async def embedded(
    settings: Any, feed: Feed, *, bootstrap: str, pacer: Pacer, checkpoint: Checkpoint,
    as_of: datetime | None = None, client_config: dict[str, Any] | None = None,
    stop: threading.Event | None = None, on_progress: Progress | None = None,
    on_alert: Callable[[dict[str, Any]], None] | None = None,
) -> ReplayResult:
    """Replay through an in-process worker on the (embedded) broker; return when all is flushed."""
    stop = stop or threading.Event()
    result = ReplayResult(resumed=checkpoint.resumed, checkpoint=checkpoint.path, done=checkpoint.done,
                          done_before=checkpoint.done)
    if checkpoint.complete:
        result.complete = True
        return result
    t0 = time.perf_counter()
    result.total = feed.count(checkpoint.position)
    sources: dict[tuple[int, int], str] = {}
    stack = Stack(settings, bootstrap, on_alert=on_alert, labels=sources)
    ledger, offsets = Ledger(), _Offsets(settings.partitions)
    topic = settings.events_topic
    limit = max_record_bytes(client_config)
    loop = asyncio.get_running_loop()

    async def dead_letter(dead: Any) -> None:
        await stack.pipeline.call(stack.processor.add_dead_letter, dead)  # the processor's own thread
        await stack.pipeline.handle([])  # written before anything after it is sent (the checkpoint passes it)

    def produce() -> None:
        kafka = producer(bootstrap, client_config, paced=pacer.speed is not None)
        try:
            for item in feed.items(checkpoint.position):
                pacer.wait(item.occurred_at)
                if stop.is_set():
                    return
                dead = too_large(item.label, item.raw, item.key, limit)
                if dead is not None:
                    log.warning("replay.too_large", source=item.label, bytes=len(item.raw), limit=limit,
                                detail="not sent: a dead letter")
                    asyncio.run_coroutine_threadsafe(dead_letter(dead), loop).result()
                    result.too_large += 1
                    continue
                p, o = offsets.place(item.key)
                sources[(p, o)] = item.label
                future = kafka.send(topic, key=item.key, value=item.raw, partition=p)
                ledger.add(Sent(item.position, item.label, future))
                _note_time(checkpoint, item.occurred_at)
                result.sent += 1
                if on_progress is not None:
                    on_progress("produce", result.sent, result.total, item.occurred_at)
            kafka.flush()
        finally:
            kafka.close(timeout=5)

    async def take_checkpoint() -> None:
        positions = dict(stack.pipeline.positions)  # before `held`: what it counts was processed then
        held = await stack.pipeline.call(stack.processor.waiting.sources)

        def done(s: Sent) -> bool:
            if not acknowledged(s):
                return False
            md = s.future.value
            return md.offset < positions.get(md.partition, 0) and s.label not in held

        _advance(checkpoint, ledger, done)

    sender: asyncio.Future[None] | None = None
    checkpoint_at = [time.monotonic()]

    async def poll() -> None:
        if time.monotonic() - checkpoint_at[0] >= CHECKPOINT_EVERY_S:
            await take_checkpoint()
            checkpoint_at[0] = time.monotonic()
        if on_progress is not None:
            on_progress("process", stack.pipeline.processed, result.total, None)

    try:
        await stack.start()
        sender = loop.run_in_executor(None, produce)
        await until(sender.done, pipeline=stack.pipeline, on_poll=poll)
        sender.result()
        if stop.is_set():
            return result
        # Every record is acknowledged now; wait until the worker has processed them all.
        target: dict[int, int] = {}
        for s in ledger.pending():
            md = s.future.get(timeout=60)
            target[md.partition] = max(target.get(md.partition, -1), md.offset)
            if sources.get((md.partition, md.offset)) != s.label:  # never expected on a fresh topic
                log.warning("replay.offset_moved", label=s.label, partition=md.partition, offset=md.offset)
        ends = {p: last + 1 for p, last in target.items()}
        await until(lambda: stop.is_set() or stack.pipeline.reached(ends), pipeline=stack.pipeline, on_poll=poll)
        if stop.is_set():
            return result
        if on_progress is not None:
            on_progress("process", stack.pipeline.processed, result.total, None)
        as_of = as_of or _latest(checkpoint)
        if as_of is not None:
            await stack.pipeline.finish(as_of)
        await take_checkpoint()
        result.complete = checkpoint.complete = len(ledger) == 0
        checkpoint.save()
        result.summary = Summary(records=result.sent + result.too_large, restored=stack.processor.stats["restored"],
                                 as_of=as_of)
    finally:
        stop.set()
        if sender is not None and not sender.done():
            with contextlib.suppress(BaseException):
                await asyncio.wait({sender}, timeout=30)
        with contextlib.suppress(Exception):
            await take_checkpoint()
        await stack.stop()
        result.skipped, result.done = feed.skipped, checkpoint.done
        result.elapsed_s = time.perf_counter() - t0
        result.stats = dict(stack.processor.stats)
        if result.summary is not None:
            result.summary.elapsed_s = result.elapsed_s
            result.summary.stats = result.stats
    return result
