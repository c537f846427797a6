"""Live latencies of the real worker (`dossier-stream worker` as a subprocess).

Two delays, both on the real wall clock, read from the alerts topic:

- event → alert: dossiers received weeks ago (already past their due time) get an
  `extended` event now, which is a late extension: its `late_extension` alert fires
  at the event's own time, so it should leave as soon as the event is processed.
  Delay = when the alert is seen on the alerts topic − when the event was produced.
  Half the events occur at the instant they are produced (the worst case: nothing
  but the worker's own clock can let their alert out), half occurred 2 s before
  (a source system that delivers with a short delay).
- timer → alert: dossiers of a bench procedure whose tax limit is 0.0002 working
  days (~17 s with office hours 00:00-23:59, and the days around today made working
  days by a calendar file) are sent to tax now; their `tax_overdue` timer falls due
  on the wall clock. Delay = the alert's `emitted_at` − its `fires_at` (and when it
  is seen on the topic − `fires_at`).

The worker runs with the shipped defaults otherwise (batch size, batch wait, tick).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from bench.proc import peak_rss_of, profiled

TZ = timezone(timedelta(hours=7))
OFFICE = "000.22.31.H53"
BENCH_PROCEDURE = "9.999001"
PLAIN_PROCEDURE = "1.012713"  # 5 working days, no tax
TAX_LIMIT_DAYS = 0.0002
SOURCE_DELAY = timedelta(seconds=2)


@dataclass
class _Seen:
    """Alerts read from the topic: (kind, dossier_id) -> (seen at, record timestamp, message)."""

    alerts: dict[tuple[str, str], tuple[float, float, dict[str, Any]]] = field(default_factory=dict)

    def count(self, kind: str, ids: list[str]) -> int:
        return sum((kind, d) in self.alerts for d in ids)


def write_inputs(work: Path, today: date, tax_limit_days: float = TAX_LIMIT_DAYS) -> tuple[Path, Path]:
    """The catalog with the bench procedure, and a calendar making the days around today working days."""
    shipped = (resources.files("stream_app") / "data" / "catalog.csv").read_text("utf-8-sig").rstrip("\n")
    catalog = work / "bench-catalog.csv"
    catalog.write_text(f"{shipped}\n{BENCH_PROCEDURE},Bench: a tax clock of seconds,8,true,{tax_limit_days},\n",
                       encoding="utf-8")
    calendar = work / "bench-calendar.toml"
    calendar.write_text("".join(
        f'[[working_day]]\ndate = {today + timedelta(days=d)}\nreason = "bench"\n\n' for d in range(-1, 3)
    ), encoding="utf-8")
    return catalog, calendar


def _event(eid: str, kind: str, dossier: str, at: datetime, **own: object) -> bytes:
    return orjson.dumps({"event_id": eid, "event_type": kind, "dossier_id": dossier,
                         "occurred_at": at.astimezone(TZ).isoformat(timespec="milliseconds"),
                         "agency_code": OFFICE, **own})


def _ms(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _summary(delays_s: list[float]) -> dict[str, Any]:
    ms = [d * 1000 for d in delays_s]
    return {"n": len(ms), "p50_ms": _round(percentile(ms, 50)), "p99_ms": _round(percentile(ms, 99)),
            "max_ms": _round(max(ms) if ms else None)}


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def measure_live(bootstrap: str, work: str, *, events: int = 200, spread_s: float = 5.0,
                 tax_limit_days: float = TAX_LIMIT_DAYS, timeout_s: float = 90.0,
                 profile: str | None = None) -> dict[str, Any]:
    """Start a live worker, drive both scenarios, return the delays and the worker's peak RSS.

    With `profile`, py-spy records the worker from its start to its stop.
    """
    return asyncio.run(_live(bootstrap, Path(work), events, spread_s, tax_limit_days, timeout_s, profile))


async def _live(bootstrap: str, work: Path, n: int, spread_s: float, tax_limit_days: float,
                timeout_s: float, profile: str | None) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer

    from stream_app.kafka.admin import ensure_topics
    from stream_app.settings import Settings

    work.mkdir(parents=True, exist_ok=True)
    catalog, calendar = write_inputs(work, datetime.now(TZ).date(), tax_limit_days)
    env = {"DOSSIER_BROKER": bootstrap, "DOSSIER_CLICKHOUSE": f"chdb://{work / 'live-store'}",
           "DOSSIER_TOPIC_PREFIX": "bench.live.", "DOSSIER_APP_ID": "bench-live",
           "DOSSIER_CATALOG": str(catalog), "DOSSIER_CALENDAR": str(calendar),
           "DOSSIER_OFFICE_HOURS": "00:00-23:59", "DOSSIER_LOG_FORMAT": "json"}
    settings = Settings(broker=bootstrap, topic_prefix="bench.live.")
    ensure_topics(bootstrap, settings)

    late_ids = [f"{OFFICE}-LATE-{i:05d}" for i in range(n)]
    tax_ids = [f"{OFFICE}-TAX-{i:05d}" for i in range(n)]
    seen = _Seen()
    stop_reading = asyncio.Event()
    reader = asyncio.create_task(
        _read_alerts(bootstrap, settings.alerts_topic, settings.partitions, seen, stop_reading))
    log_path = work / "live-worker.log"
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "stream_app.cli", "worker"], env={**os.environ, **env},
                                  stdout=log, stderr=subprocess.STDOUT)
    spy = profiled(worker.pid, profile)
    spy.__enter__()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    sent_late: dict[str, tuple[float, bool]] = {}
    sent_tax: dict[str, float] = {}
    try:
        now = datetime.now(timezone.utc)
        for i, d in enumerate(late_ids):
            await producer.send(settings.events_topic, key=d.encode(), value=_event(
                f"{d}:1", "received", d, now - timedelta(days=20), procedure_code=PLAIN_PROCEDURE))
        for d in tax_ids:
            await producer.send(settings.events_topic, key=d.encode(), value=_event(
                f"{d}:1", "received", d, now - timedelta(seconds=60), procedure_code=BENCH_PROCEDURE))
        await producer.flush()
        # Ready: every old dossier's breach is out, so the worker consumes and its clock ticks.
        await _until(lambda: seen.count("sla_breach", late_ids) == n, timeout_s, worker)
        ready_s = time.perf_counter() - t0

        async def send(topic_key: str, value: bytes) -> None:
            await producer.send_and_wait(settings.events_topic, key=topic_key.encode(), value=value)

        # Timers first: they fall due ~17 s later, while the extensions are being sent.
        await _paced(n, spread_s, lambda i: _send_tax(send, tax_ids[i], sent_tax))
        await _paced(n, spread_s, lambda i: _send_extension(send, late_ids[i], i % 2 == 1, sent_late))
        await _until(lambda: seen.count("late_extension", late_ids) == n and seen.count("tax_overdue", tax_ids) == n,
                     timeout_s, worker)
    finally:
        await producer.stop()
        peak = peak_rss_of(worker.pid)
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        spy.__exit__(None, None, None)
        stop_reading.set()
        await reader

    arrival_now, arrival_delayed, timer_emitted, timer_seen = [], [], [], []
    for d, (t_sent, delayed) in sent_late.items():
        hit = seen.alerts.get(("late_extension", d))
        if hit:
            (arrival_delayed if delayed else arrival_now).append(hit[0] - t_sent)
    for d in sent_tax:
        hit = seen.alerts.get(("tax_overdue", d))
        if hit:
            msg = hit[2]
            timer_emitted.append(_ms(msg["emitted_at"]) - _ms(msg["fires_at"]))
            timer_seen.append(hit[0] - _ms(msg["fires_at"]))
    return {
        "events_per_scenario": n, "spread_s": spread_s, "tax_limit_working_days": tax_limit_days,
        "worker_ready_s": round(ready_s, 3),
        "event_to_alert": _summary(arrival_now),
        "event_to_alert_source_delayed_2s": _summary(arrival_delayed),
        "timer_to_alert_emitted": _summary(timer_emitted),
        "timer_to_alert_on_topic": _summary(timer_seen),
        "worker_peak_rss_bytes": peak,
        "worker_exit_code": worker.returncode,
    }


async def _send_tax(send: Any, dossier: str, sent: dict[str, float]) -> None:
    t = time.time()
    at = datetime.fromtimestamp(t, timezone.utc)
    await send(dossier, _event(f"{dossier}:2", "sent_to_tax", dossier, at))
    sent[dossier] = t


async def _send_extension(send: Any, dossier: str, delayed: bool, sent: dict[str, tuple[float, bool]]) -> None:
    t = time.time()
    at = datetime.fromtimestamp(t, timezone.utc) - (SOURCE_DELAY if delayed else timedelta(0))
    await send(dossier, _event(f"{dossier}:2", "extended", dossier, at,
                               new_due_at=(at + timedelta(days=10)).astimezone(TZ).isoformat(timespec="milliseconds")))
    sent[dossier] = (t, delayed)


async def _paced(n: int, spread_s: float, step: Any) -> None:
    """`step(i)` for i in 0..n-1, evenly spread over `spread_s` seconds."""
    start = time.perf_counter()
    for i in range(n):
        delay = start + i * spread_s / max(n, 1) - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await step(i)


async def _until(predicate: Any, timeout_s: float, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.perf_counter() + timeout_s
    while not predicate():
        if worker.poll() is not None:
            raise RuntimeError(f"live worker exited with code {worker.returncode}; see live-worker.log")
        if time.perf_counter() > deadline:
            raise TimeoutError("live alerts did not all arrive in time; see live-worker.log")
        await asyncio.sleep(0.05)


async def _read_alerts(bootstrap: str, topic: str, partitions: int, seen: _Seen, stop: asyncio.Event) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=20)
            now = time.time()
            for messages in batch.values():
                for m in messages:
                    msg = orjson.loads(m.value)
                    seen.alerts.setdefault((msg["kind"], msg["dossier_id"]), (now, m.timestamp / 1000, msg))
    finally:
        await consumer.stop()
