"""Lifecycles of the two long jobs: `run` (replay a file) and `worker` (live).

Both start the same way — broker (embedded unless `DOSSIER_BROKER` is set),
topics, ClickHouse migrations, the rules, and the restore of every active
dossier from the store — then feed the same Faust agent. `run` stops when
every produced record is processed (counted, never inferred from the
broker's end offsets) and every timer up to `--as-of` has fired; `worker`
runs until stopped, driving timers from the wall clock once it has caught up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import structlog

from stream_app.core.pipeline import Pipeline, ProcessingFailed
from stream_app.core.processor import Processor
from stream_app.domain.calendar import OfficeHours, WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.domain.dossier import Rules
from stream_app.kafka.agent import register
from stream_app.kafka.app import build_app
from stream_app.kafka.broker import (
    EmbeddedBroker,
    ensure_topics,
    kafka_client_config,
    wait_for_broker,
    while_broker_answers,
)
from stream_app.kafka.producer import Produced, produce_file
from stream_app.notify.webhooks import WebhookNotifier
from stream_app.settings import Settings
from stream_app.store.client import ClickHouseSink, connect, migrate
from stream_app.store.restore import StoreReader
from stream_app.store.rows import TABLE_COLUMNS

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def wall_clock(settings: Settings) -> Callable[[], datetime]:
    """The live worker's clock: the real one, or one started at `live_clock_start`."""
    if settings.live_clock_start is None:
        return utc_now
    if settings.live_clock_start.tzinfo is None:
        raise ValueError("DOSSIER_LIVE_CLOCK_START needs a UTC offset")
    offset = settings.live_clock_start - utc_now()
    return lambda: utc_now() + offset


def load_rules(settings: Settings) -> Rules:
    calendar = WorkingCalendar.load(settings.calendar, OfficeHours.parse(settings.office_hours))
    return Rules(
        calendar=calendar,
        catalog=Catalog.load(settings.catalog),
        supplement_mode=settings.supplement_mode,
        warning=timedelta(hours=settings.warning_working_hours),
    )


@contextlib.contextmanager
def kafka_bootstrap(settings: Settings) -> Iterator[str]:
    """The bootstrap servers: the configured cluster, or an embedded broker for the duration."""
    if settings.broker:
        wait_for_broker(settings.broker, timeout_s=settings.broker_wait_s)
        yield settings.broker
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap


@dataclass
class Summary:
    records: int = 0
    elapsed_s: float = 0.0
    restored: int = 0
    as_of: datetime | None = None
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Stack:
    """Everything one job holds open; closed in reverse order."""

    def __init__(self, settings: Settings, bootstrap: str, now: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        ensure_topics(bootstrap, settings)
        self.client = connect(settings.clickhouse.get_secret_value())
        migrate(self.client, settings.database)
        self.rules = load_rules(settings)
        self.directory = Directory.load(self.rules.catalog)
        reader = StoreReader(self.client, settings.database)
        t0 = time.perf_counter()
        self.processor = Processor(
            self.rules, self.directory, partitions=settings.partitions, lateness=settings.allowed_lateness,
            now=now, loader=reader, watermark=reader.watermark(), hot_limit=settings.hot_dossiers,
        )
        self.processor.restore(reader.load(reader.active_ids()))
        log.info("state.restored", dossiers=self.processor.stats["restored"],
                 duration_ms=round((time.perf_counter() - t0) * 1000))
        secret = settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else None
        self.pipeline = Pipeline(
            self.processor, ClickHouseSink(self.client, settings.database, TABLE_COLUMNS),
            alerts_topic=settings.alerts_topic, dlq_topic=settings.dlq_topic,
            webhooks=WebhookNotifier(settings.webhook_urls, secret) if settings.webhook_urls else None,
        )
        self.app = build_app(settings, bootstrap)
        register(self.app, settings, self.pipeline)
        if settings.web_enabled:
            from stream_app.web import register_views

            register_views(self.app, self)

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        # Bounded: with the broker gone, Faust's stop can wait forever (on a consumer
        # thread that already died); give it stop_timeout_s, then leave it behind.
        # Not wait_for: that waits for the cancellation, which never completes either.
        stopping = asyncio.ensure_future(self.app.stop())
        done, _ = await asyncio.wait({stopping}, timeout=self.settings.stop_timeout_s)
        if not done:
            stopping.cancel()
            log.warning("worker.stop_timeout", timeout_s=self.settings.stop_timeout_s)
        elif stopping.exception() is not None:
            log.warning("worker.stop_failed", error=type(stopping.exception()).__name__)
        self.pipeline.close()
        self.client.close()


async def run_file(
    settings: Settings,
    path: Path,
    *,
    as_of: datetime | None = None,
    bootstrap: str,
    progress: Callable[[str, int, int | None], None] | None = None,
    on_alert: Callable[[dict[str, Any]], None] | None = None,
) -> Summary:
    """Replay one file through the broker and the worker; return when all is flushed."""
    t0 = time.perf_counter()
    stack = Stack(settings, bootstrap)
    summary = Summary(restored=stack.processor.stats["restored"])
    stack.pipeline.on_alert = on_alert
    loop = asyncio.get_running_loop()
    try:
        # Produce first: the worker must know each record's file line before it
        # reports a dead letter, and producing is quick next to consuming.
        produced: Produced = await loop.run_in_executor(None, lambda: produce_file(
            path, bootstrap=bootstrap, topic=settings.events_topic,
            client_config=kafka_client_config(settings),
            on_progress=(lambda n: progress("produce", n, None)) if progress else None,
        ))
        stack.processor.sources = produced.sources
        for dead in produced.rejected:  # lines too large to be Kafka records: dead letters, not a crash
            stack.processor.add_dead_letter(dead)
        await stack.start()
        if produced.rejected:
            await stack.pipeline.handle([])  # written and published now, whatever else the file holds

        async def consume() -> None:
            target = {p: off + 1 for p, off in produced.last_offsets.items()}
            positions = stack.pipeline.positions
            while any(positions.get(p, 0) < end for p, end in target.items()):
                if progress:
                    progress("process", stack.pipeline.processed, produced.count)
                await asyncio.sleep(0.1)
                raise_if_broken(stack.pipeline)
            if progress:
                progress("process", stack.pipeline.processed, produced.count)
            summary.as_of = as_of or produced.max_occurred_at
            if summary.as_of is not None:
                await stack.pipeline.finish(summary.as_of)

        await while_broker_answers(consume(), bootstrap, give_up_s=settings.broker_give_up_s)
        summary.records = produced.count
    finally:
        await stack.stop()
    summary.elapsed_s = time.perf_counter() - t0
    summary.stats = dict(stack.processor.stats)
    return summary


async def run_worker(settings: Settings, *, bootstrap: str, stop: asyncio.Event,
                     now: Callable[[], datetime] = utc_now) -> None:
    """The live worker: consume forever; timers follow the wall clock once caught up."""
    stack = Stack(settings, bootstrap, now=now)
    stack.pipeline.on_alert = _log_alert
    stack.pipeline.partitions = lambda: _owned(stack)
    await stack.start()
    log.info("worker.started", bootstrap=bootstrap, restored=stack.processor.stats["restored"])

    async def live() -> None:
        # Wake on every processed batch (an alert due at the event's own time leaves
        # right after it) and on every tick (timers); fire by the wall clock only
        # once every partition is caught up, so a backlog never raises false alarms.
        batch_done = stack.pipeline.batch_done
        while not stop.is_set():
            await _first_of(stop.wait(), batch_done.wait(), timeout=settings.tick_s)
            batch_done.clear()
            raise_if_broken(stack.pipeline)
            current = await caught_up(stack)
            if current:
                await stack.pipeline.advance(now(), current)

    try:
        await while_broker_answers(live(), bootstrap, give_up_s=settings.broker_give_up_s)
    finally:
        await stack.stop()
        log.info("worker.stopped")


def _log_alert(alert: dict[str, Any]) -> None:
    log.info("alert.emitted", alert_id=alert["alert_id"], kind=alert["kind"], dossier_id=alert["dossier_id"],
             fires_at=alert["fires_at"], retracted=alert["retracted"])


def raise_if_broken(pipeline: Pipeline) -> None:
    """A batch failed (a bug, not bad input; nothing of it was acknowledged): stop the job
    with its error, a clear message and a non-zero exit, instead of waiting forever."""
    failure = pipeline.failure
    if failure is not None:
        raise ProcessingFailed(f"processing stopped: {type(failure).__name__}: {str(failure)[:200]}") from failure


def _owned(stack: Stack) -> list[int]:
    return sorted(tp.partition for tp in stack.app.consumer.assignment() if tp.topic == stack.settings.events_topic)


async def _first_of(*waits: Any, timeout: float) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


async def caught_up(stack: Stack) -> list[int]:
    """The assigned events partitions processed up to their fetch highwater.

    The highwater comes with every fetch response (on the embedded broker too:
    only ListOffsets under-reports there, PLATFORM.md), and a partition is not
    fetched again while fetched records wait, so "processed up to the
    highwater, and everything fetched processed" means nothing older waits in
    that partition: records produced after that fetch are live input. A
    dossier's events all live in one partition, so each partition follows the
    wall clock on its own as soon as it is caught up, whatever the others do.
    A partition the pipeline has processed nothing from in this process counts
    from the group's committed offset (where reading started), never from the
    consumer's position, which moves as soon as records are fetched. All of it
    is read without a call into the consumer's thread.
    """
    consumer: Any = stack.app.consumer
    if getattr(consumer, "in_delivery", False):
        return []
    committed = getattr(consumer, "_committed_offset", {})
    current = []
    for tp in consumer.assignment():
        if tp.topic != stack.settings.events_topic:
            continue
        high = consumer.highwater(tp)
        if high is None:
            continue
        done = stack.pipeline.positions.get(tp.partition)
        if done is None:
            done = committed.get(tp) or 0
        read = consumer._read_offset.get(tp)  # the last offset handed to the agent
        fetched = read + 1 if read is not None else 0
        if done >= max(high, fetched):
            current.append(tp.partition)
    return sorted(current)
