"""End-to-end `dossier-stream run`: file → Kafka → Faust → ClickHouse, all sinks flushed.

`measure_end_to_end` does what `dossier-stream run --events FILE` does (the
same `run_file` on a configured broker, a fresh chDB store) with its own topic
prefix and consumer group, and times the phases from `run_file`'s progress
callback: set-up (restore, migrations, the app started), group join (nothing
processed yet), processing (first processed batch to the last record; the feed
sends the file beside it, so producing is no longer a phase of its own), finish
(timers up to `--as-of`, the last flush, stopping the app). `run_processing_s`
is the run's own measure of the same span (`Summary.processing_s`). The processing rate excludes start-up; the total is
records over the whole call. Run it through `bench.proc.isolated` so that its
peak RSS is the worker's; with `profile`, py-spy records the whole call.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench.proc import profiled


def measure_end_to_end(bootstrap: str, events_file: str, store: str, *, topic_prefix: str = "bench.e2e.",
                       app_id: str = "bench-e2e", partitions: int = 4, profile: str | None = None) -> dict[str, Any]:
    import os

    from stream_app.jobs.run import run_file
    from stream_app.settings import Settings
    from stream_app.store.client import connect

    settings = Settings(broker=bootstrap, clickhouse=f"chdb://{store}", topic_prefix=topic_prefix,
                        app_id=app_id, partitions=partitions)
    marks: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        if phase != "process":
            return
        now = time.perf_counter()
        marks.setdefault("started", now)
        if done > 0 and "first" not in marks:
            marks["first"], marks["first_done"] = now, done
        if total is not None and done >= total and "all" not in marks:
            marks["all"] = now

    t0 = time.perf_counter()
    with profiled(os.getpid(), profile):
        summary = asyncio.run(run_file(settings, Path(events_file), bootstrap=bootstrap, progress=progress))
    t_end = time.perf_counter()
    started, first, done = marks.get("started", t0), marks.get("first", t0), marks.get("all", t_end)
    processed = summary.records - marks.get("first_done", 0)
    client = connect(f"chdb://{store}")
    try:
        rows = {t: client.query(f"SELECT count() FROM {settings.database}.{t} FINAL").result_rows[0][0]
                for t in ("events", "dossier_state", "alerts", "dead_letters")}
    finally:
        client.close()
    return {
        "events": summary.records,
        "setup_and_produce_s": round(started - t0, 3),
        "group_join_s": round(first - started, 3),
        "processing_s": round(done - first, 3),
        "run_processing_s": round(summary.processing_s, 3),
        "finish_s": round(t_end - done, 3),
        "total_s": round(t_end - t0, 3),
        "events_per_s": round(processed / (done - first)) if done > first and processed > 0 else None,
        "events_per_s_total": round(summary.records / (t_end - t0)),
        "rows": rows,
        "stats": {k: v for k, v in sorted(summary.stats.items()) if not k.startswith("alert.")},
        "alerts": sum(v for k, v in summary.stats.items() if k.startswith("alert.")),
    }
