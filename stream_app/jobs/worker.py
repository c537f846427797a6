"""`dossier-stream worker`: the long-running live worker.

It consumes forever; each partition's timers follow the wall clock once that
partition has caught up with its input (never a false alarm while a backlog is
still being read). Several workers in one consumer group share the partitions:
each fires the timers and persists the watermark of the partitions it owns.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog

from stream_app.clock import Clock, utc_now
from stream_app.domain.calendar import TZ
from stream_app.jobs.mail import Dispatch
from stream_app.jobs.stack import Stack, owned_partitions
from stream_app.jobs.until import raise_if_broken
from stream_app.kafka.admin import while_broker_answers
from stream_app.settings import Settings

log = structlog.get_logger(__name__)


class StaleClock(ValueError):
    """The store's clock is far behind the wall clock, and nobody said to move it on."""


class LiveClock:
    """The live worker's clock: the wall clock, or a drill clock that started at a chosen
    moment and runs at the wall clock's pace from there."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def start_at(self, t: datetime) -> None:
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError("a drill clock's start needs a UTC offset, e.g. 2023-12-01T08:00:00+07:00")
        self.offset = t - utc_now()


def set_clock(clock: LiveClock, settings: Settings, store_clock: datetime | None) -> None:
    """Start the drill clock the settings ask for, or check that moving the store's clock
    to now is what a user wants: a store replayed from history (or a worker stopped for
    longer than `catch_up_max_days`) would otherwise jump to today and raise every alert
    due since then."""
    start = settings.live_clock_start
    if start == "store":
        clock.start_at(store_clock or utc_now())
        return
    if isinstance(start, datetime):
        clock.start_at(start)
        return
    if store_clock is None or settings.catch_up:
        return
    behind = utc_now() - store_clock
    if behind > timedelta(days=settings.catch_up_max_days):
        raise StaleClock(
            f"the store's clock stands at {store_clock.astimezone(TZ):%d/%m/%Y %H:%M} (+07:00), {behind.days:,} days "
            "behind now. Started like this, the worker would move it to now and raise every alert due since then. "
            "To look at replayed data live: `dossier-stream worker --clock-start store` (a drill clock that starts at "
            "the store's own clock; DOSSIER_LIVE_CLOCK_START=store). After real downtime: `dossier-stream worker "
            f"--catch-up` (DOSSIER_CATCH_UP=true). The limit is DOSSIER_CATCH_UP_MAX_DAYS "
            f"({settings.catch_up_max_days:g} days)")


async def run_worker(settings: Settings, *, bootstrap: str, stop: asyncio.Event, now: Clock | None = None) -> None:
    """The live worker: consume forever; timers follow the wall clock once caught up.

    `now` is injected by tests; unset, the worker runs on a `LiveClock` set from the
    settings (the wall clock after a check of the store's clock, or a drill clock)."""
    clock: Clock = now if now is not None else LiveClock()
    stack = Stack(settings, bootstrap, now=clock, live=True, on_alert=_log_alert)
    try:
        if isinstance(clock, LiveClock):
            set_clock(clock, settings, stack.processor.resumed_watermark)
    except BaseException:
        await stack.stop()
        raise
    now = clock
    stack.processor.note_year(now().year)  # a live clock in a year no calendar table confirms: say so
    # Digests and e-mail (issue 22): sent by the worker holding partition 0, once caught up.
    dispatch = Dispatch(stack.pipeline, mail=stack.mail, calendar=stack.rules.calendar,
                        digest_at=settings.mail_digest_at, read=stack.read,
                        leader=lambda: 0 in owned_partitions(stack.app, settings.events_topic))
    await stack.start()
    page = f"http://{settings.web_bind}:{settings.web_port}/" if settings.web_enabled else None
    log.info("worker.started", bootstrap=bootstrap, restored=stack.processor.stats["restored"],
             clock=now().isoformat(timespec="seconds"), page=page)

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
                if current == owned_partitions(stack.app, settings.events_topic):
                    await dispatch.tick(now())

    try:
        await while_broker_answers(live(), bootstrap, give_up_s=settings.broker_give_up_s)
    finally:
        await dispatch.close()
        await stack.stop()
        log.info("worker.stopped")


def _log_alert(alert: dict[str, Any]) -> None:
    log.info("alert.emitted", alert_id=alert["alert_id"], kind=alert["kind"], dossier_id=alert["dossier_id"],
             fires_at=alert["fires_at"], retracted=alert["retracted"])


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
    only ListOffsets under-reports there, docs/platform.md), and a partition is not
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
        read = consumer._read_offset.get(tp)  # the last offset handed to the agent
        fetched = read + 1 if read is not None else 0
        if done is None:
            done = committed.get(tp) or 0
            # Nothing processed here yet: a read offset at the committed one is where the
            # seek put the consumer, not a record handed over (one would be below the highwater,
            # so `done >= high` fails anyway). Counted as handed, a restarted worker with no
            # new record in a partition would never fire that partition's timers (issue 22).
            if read is not None and read <= done:
                fetched = read
        if done >= max(high, fetched):
            current.append(tp.partition)
    return sorted(current)
