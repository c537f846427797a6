"""Scale figures: memory per open dossier, restore time, the monthly report's speed.

- `measure_open_dossier_memory`: K `received` events (K open dossiers, one event
  each: the smallest open dossier there is) fed straight through a `Processor`, as
  the worker feeds it, in batches of the worker's size, after a warm-up batch of
  other dossiers (lazy imports and calendar tables are per process, not per
  dossier); the settled RSS grown over K (and, with `trace`, the Python
  allocations still held over K, with the lines that hold them). Optionally the
  first dossiers' rows (exactly the rows the worker's sink writes: events,
  dossier_state, stream_progress) go to a chDB store for the restore
  measurement — the processor without Kafka.
- `measure_restore`: what `run` and `worker` do at start (Restorer.active_ids,
  dossiers, Processor.restore), timed step by step in a fresh process, with the RSS
  it leaves.
- `measure_monthly_report`: a store of N events built in SQL (INSERT … SELECT FROM
  numbers()): N/5 dossiers over three years of ten units, five events each, with
  supplements, payments, results and breach alerts in realistic shares; then the
  `monthly_report` view for one month (first run and best of the repeats) and the
  report command's own queries (`stream_app.report.data.load_month`) when present.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import orjson

from bench.proc import settled_rss

TZ = timezone(timedelta(hours=7))
UNITS = tuple(f"{i:03d}.22.31.H53" for i in range(10))
PROCEDURES = ("1.012711", "1.012712", "1.012713", "1.012714", "1.012715", "1.012716", "1.012717", "1.012718")
CHANNELS = ("direct", "online", "postal")
# Monday 07:00; one dossier every 40 ms keeps even 1 000 000 of them inside one
# working day and a half, so no timer of theirs falls due and all stay open.
FIRST_RECEIVED = datetime(2024, 3, 4, 7, 0, tzinfo=TZ)
STEP = timedelta(milliseconds=40)
BATCH = 2000  # the worker's default batch size


def _processor(restorer: Any = None, watermark: datetime | None = None) -> Any:
    from stream_app.clock import utc_now
    from stream_app.core.processor import Processor
    from stream_app.jobs.rules import load_directory, load_rules
    from stream_app.kafka.producer import partitioner
    from stream_app.settings import Settings

    settings = Settings()
    rules = load_rules(settings)
    return Processor(rules, load_directory(rules), partitions=settings.partitions,
                     lateness=settings.allowed_lateness, now=utc_now, partitioner=partitioner(settings.partitions),
                     restorer=restorer, watermark=watermark, hot_limit=settings.hot_dossiers)


def open_dossier_batches(k: int, partition_of: Any, first: int = 0) -> Iterator[list[Any]]:
    """`received` records of K distinct dossiers (numbered from `first`), in batches."""
    from stream_app.core.output import Record

    offsets: dict[int, int] = {}
    for lo in range(first, first + k, BATCH):
        batch = []
        for i in range(lo, min(first + k, lo + BATCH)):
            unit = UNITS[i % len(UNITS)]
            dossier = f"{unit}-240304-{i:07d}"
            raw = orjson.dumps({
                "event_id": f"{dossier}:1", "event_type": "received", "dossier_id": dossier,
                "occurred_at": (FIRST_RECEIVED + i * STEP).isoformat(timespec="milliseconds"),
                "agency_code": unit, "procedure_code": PROCEDURES[i % len(PROCEDURES)],
                "channel": CHANNELS[i % len(CHANNELS)],
            })
            p = partition_of(dossier)
            off = offsets[p] = offsets.get(p, -1) + 1
            batch.append(Record(raw, dossier.encode(), p, off, f"bench/{p}/{off}"))
        yield batch


def measure_open_dossier_memory(k: int, *, trace: bool = False, store: str | None = None,
                                store_dossiers: int = 0) -> dict[str, Any]:
    """Processor memory per open dossier after K `received` events; optionally write a restore store."""
    processor = _processor()
    # Warm up on other dossiers first: lazy imports and the calendar's day tables
    # are paid once per process, not per dossier.
    for batch in open_dossier_batches(BATCH, processor.partition_of):
        processor.process(batch)
    warm = len(processor.dossier_ids())
    before = settled_rss()
    if trace:
        tracemalloc.start()
        traced_before = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    for batch in open_dossier_batches(k, processor.partition_of, first=BATCH):
        processor.process(batch)  # the outbox is dropped, as the worker drops it after the flush
    feed_s = time.perf_counter() - t0
    del batch  # the last batch's records are the input's, not the processor's
    result: dict[str, Any] = {"dossiers": len(processor.dossier_ids()) - warm, "live": len(processor.histories), "feed_s": round(feed_s, 3),
                              "feed_events_per_s": round(k / feed_s) if feed_s else 0}
    if trace:
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
        held = tracemalloc.get_traced_memory()[0] - traced_before
        tracemalloc.stop()
        result["traced_bytes_per_dossier"] = round(held / k)
        result["top_allocations"] = [
            {"where": f"{_short(s.traceback[0].filename)}:{s.traceback[0].lineno}",
             "bytes_per_dossier": round(s.size / k)}
            for s in snapshot.statistics("lineno")[:10]
            if "<frozen" not in s.traceback[0].filename
        ]
        result["traced_dossiers"] = k
    else:
        after = settled_rss()
        result["rss_delta_bytes"] = after - before
        result["rss_bytes_per_dossier"] = round((after - before) / k)
    if store:
        t = time.perf_counter()
        result["store_rows"] = write_store(processor, Path(store), store_dossiers)
        result["store_write_s"] = round(time.perf_counter() - t, 3)
    return result


def _short(filename: str) -> str:
    for root in ("/site-packages/", f"{Path(__file__).resolve().parent.parent}/", "/lib/python3"):
        if root in filename:
            return filename.split(root, 1)[1]
    return filename


def write_store(processor: Any, store: Path, dossiers: int) -> dict[str, int]:
    """The sink's rows for the first `dossiers` dossiers held by `processor`, into a fresh chDB store."""

    from stream_app.settings import Settings
    from stream_app.store.client import connect
    from stream_app.store.migrate import migrate
    from stream_app.domain.snapshot import snapshot
    from stream_app.store.rows import TABLE_COLUMNS, event_row, state_row
    from stream_app.store.writer import ClickHouseSink

    settings = Settings()
    client = connect(f"chdb://{store}")
    try:
        migrate(client, settings.database)
        sink = ClickHouseSink(client, settings.database, TABLE_COLUMNS)
        now = processor.now()
        written = {"events": 0, "dossier_state": 0}
        histories = [processor.history(d) for d in sorted(processor.dossier_ids())[:dossiers]]
        for lo in range(0, len(histories), 50_000):
            chunk = histories[lo:lo + 50_000]
            events = [event_row(ev, now) for h in chunk for ev in h.events]
            states = [state_row(snapshot(h, processor.rules), now) for h in chunk]
            sink.add("events", events)
            sink.add("dossier_state", states)
            sink.flush()
            written["events"] += len(events)
            written["dossier_state"] += len(states)
        sink.add("stream_progress", [["watermark", processor.low_watermark(), now]])
        sink.flush()
        return written
    finally:
        client.close()


def measure_restore(store: str) -> dict[str, Any]:
    """Restore every active dossier from the store, as `run` and `worker` do at start."""
    from stream_app.settings import Settings
    from stream_app.store.client import connect
    from stream_app.store.restore import Restorer

    client = connect(f"chdb://{store}")
    try:
        client.query("SELECT 1")  # the engine's own start-up is not the restore's
        before = settled_rss()
        t0 = time.perf_counter()
        restorer = Restorer(client, Settings().database)
        ids = restorer.active_ids()
        t1 = time.perf_counter()
        loaded = restorer.dossiers(ids)
        t2 = time.perf_counter()
        processor = _processor(restorer=restorer, watermark=restorer.watermark())
        processor.restore(loaded)
        t3 = time.perf_counter()
        del loaded
        after = settled_rss()
        n = len(processor.dossier_ids())
        return {
            "dossiers": n, "total_s": round(t3 - t0, 3), "active_ids_s": round(t1 - t0, 3),
            "load_s": round(t2 - t1, 3), "rebuild_s": round(t3 - t2, 3),
            "rss_delta_bytes": after - before, "rss_bytes_per_dossier": round((after - before) / n) if n else None,
        }
    finally:
        client.close()


# One row per dossier d (0 <= d < D) and five events per dossier; every value a
# function of d, so the store is the same on every run. Three years from
# 2023-01-01 of ten units; 4 % still open; 10 % with a supplement; a third pay a
# tax; a fifth finish overdue, and those (and the open overdue) carry a breach alert.
_DOSSIER = """
    number AS d,
    concat(leftPad(toString(d % 10), 3, '0'), '.22.31.H53') AS unit,
    concat(unit, '-', toString(d)) AS dossier_id,
    addSeconds(toDateTime64('2023-01-01 07:00:00', 3, 'Asia/Ho_Chi_Minh'), intDiv(d * 94608000, {D})) AS recv,
    1 + cityHash64(d) % 25 AS days,
    cityHash64(d, 1) % 100 < 4 AS still_open,
    d % 10 = 0 AS supplemented,
    d % 3 = 0 AS paid,
    addDays(recv, 14) AS due
"""


def _build_report_store(client: Any, db: str, events: int) -> dict[str, int]:
    dossiers = max(1, events // 5)
    src = f"(SELECT {_DOSSIER.format(D=dossiers)} FROM numbers({dossiers}))"
    client.command(f"""
        INSERT INTO {db}.dossier_state
        SELECT dossier_id, '1.012711', true, unit, unit, 'direct',
               if(still_open, 'in_process', 'concluded'), recv, due, NULL, 0, 0,
               if(still_open, NULL, addDays(recv, days)), if(still_open, NULL, 'approved'),
               multiIf(still_open, if(days > 14, 'open_overdue', 'open'),
                       days < 10, 'early', days <= 14, 'on_time', 'overdue'),
               if(supplemented, 1, 0), if(paid, addDays(recv, 2), NULL), if(paid, addDays(recv, 7), NULL),
               if(paid, addDays(recv, 3), NULL), if(paid, addDays(recv, 4), NULL),
               if(paid, if(d % 2 = 0, 'online', 'counter'), NULL),
               if(still_open OR d % 7 = 0, NULL, addDays(recv, days)), NULL,
               map(unit, toFloat64(days * 8)), if(days > 14, 'unit', NULL), if(days > 14, unit, NULL),
               still_open, 1, now64(3)
        FROM {src}
    """)
    client.command(f"""
        INSERT INTO {db}.events (event_id, dossier_id, event_type, occurred_at, agency_code, procedure_code,
                                 schema_version, ingested_at)
        SELECT concat(dossier_id, ':', toString(k + 1)), dossier_id,
               [ 'received', 'transferred', if(supplemented, 'supplement_requested', 'sent_to_tax'),
                 if(supplemented, 'supplement_received', 'obligation_paid'), 'concluded'][k + 1],
               addDays(recv, k), unit, if(k = 0, '1.012711', NULL), 1, now64(3)
        FROM (SELECT *, arrayJoin(range(5)) AS k FROM {src})
    """)
    client.command(f"""
        INSERT INTO {db}.alerts
        SELECT hex(cityHash64(dossier_id, 'sla_breach')), 'sla_breach', dossier_id, unit, unit, '1.012711',
               toDateTime64(toDate(due) + 1, 3, 'Asia/Ho_Chi_Minh') - toIntervalMillisecond(1),
               toDateTime64(toDate(due) + 1, 3, 'Asia/Ho_Chi_Minh'), due, 'bench', false, 1
        FROM {src} WHERE days > 14
    """)
    client.command(f"""
        INSERT INTO {db}.stream_progress
        SELECT 'watermark', addSeconds(toDateTime64('2023-01-01 07:00:00', 3, 'Asia/Ho_Chi_Minh'), 94608000), now64(3)
    """)
    return {t: client.query(f"SELECT count() FROM {db}.{t}").result_rows[0][0]
            for t in ("events", "dossier_state", "alerts")}


def measure_monthly_report(store: str, *, events: int = 10_000_000, month: str = "2024-06-01",
                           repeats: int = 3) -> dict[str, Any]:
    """Build a store of `events` events in SQL, then time the monthly report of one month."""
    from datetime import date

    from stream_app.settings import Settings
    from stream_app.store.client import connect
    from stream_app.store.migrate import migrate

    db = Settings().database
    client = connect(f"chdb://{store}")
    try:
        migrate(client, db)
        t0 = time.perf_counter()
        rows = _build_report_store(client, db, events)
        build_s = time.perf_counter() - t0
        # A store that has lived for years has been merged by the engine in the
        # background; one bulk-built a second ago has not (its first queries would
        # time the merges). Merge it as time would have, then measure.
        t0 = time.perf_counter()
        for table in ("events", "dossier_state", "alerts"):
            client.command(f"OPTIMIZE TABLE {db}.{table} FINAL")
        merge_s = time.perf_counter() - t0
        has_view = client.query(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'monthly_report'",
            parameters={"db": db}).result_rows[0][0] == 1
        sql = (f"SELECT * FROM {db}.monthly_report WHERE month = {{m:Date}}" if has_view else
               f"SELECT receiving_unit, count() FROM {db}.dossier_state FINAL "
               f"WHERE toStartOfMonth(received_at) = {{m:Date}} GROUP BY receiving_unit")
        times, units = [], 0
        for _ in range(repeats):
            t = time.perf_counter()
            units = len(client.query(sql, parameters={"m": month}).result_rows)
            times.append(time.perf_counter() - t)
        result: dict[str, Any] = {
            "events": rows["events"], "rows": rows, "build_s": round(build_s, 1), "merge_s": round(merge_s, 1),
            "query": "monthly_report view" if has_view else "stand-in on dossier_state (no monthly_report view)",
            "month": month, "unit_rows": units,
            "first_s": round(times[0], 3), "best_s": round(min(times), 3),
        }
        try:
            from stream_app.report.data import load_month
        except ImportError:
            return result
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            load_month(client, db, date.fromisoformat(month))
            times.append(time.perf_counter() - t)
        result["report_load_month_first_s"] = round(times[0], 3)
        result["report_load_month_best_s"] = round(min(times), 3)
        # The letter (--format docx) and --charts also read 12 months of monthly_report for the chart.
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            load_month(client, db, date.fromisoformat(month), history_months=12)
            times.append(time.perf_counter() - t)
        result["report_load_month_12_months_best_s"] = round(min(times), 3)
        return result
    finally:
        client.close()
