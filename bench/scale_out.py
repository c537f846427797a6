"""Scale out: one file replayed by one worker process, then by two, on a served store.

Each measurement is `dossier-stream run --workers N` (`jobs.fleet.run_fleet`) with its
own topic prefix, consumer group and fresh embedded store, which the run serves to its
worker processes over HTTP. Workers 1 is the same fleet with one worker process, so the
ratio is the parallel speed-up alone (the serving, the HTTP writes and the label files are
in both). The processing rate counts from the first processed record to the last
(`Summary.processing_s`); the total includes the start of the store, the broker's group
join and the timers up to `--as-of`. On a 2-core machine the broker and the store share
the cores with the workers, so two workers cannot reach 2x. Run it through
`bench.proc.isolated`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any


def measure_scale_out(bootstrap: str, events_file: str, work: str, *, partitions: int = 4,
                      counts: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    from stream_app.jobs.fleet import run_fleet
    from stream_app.settings import Settings

    out: dict[str, Any] = {"in_one_process": False}
    for n in counts:
        settings = Settings(broker=bootstrap, clickhouse=f"chdb://{work}/store-{n}", topic_prefix=f"bench.scale{n}.",
                            app_id=f"bench-scale-{n}", partitions=partitions, workers=n)
        t0 = time.perf_counter()
        summary = asyncio.run(run_fleet(settings, Path(events_file), workers=n, bootstrap=bootstrap))
        total = time.perf_counter() - t0
        out["events"] = summary.records
        out[f"workers_{n}"] = {
            "workers": n, "total_s": round(total, 2), "processing_s": round(summary.processing_s, 2),
            "events_per_s": round(summary.records / summary.processing_s) if summary.processing_s else None,
            "events_per_s_total": round(summary.records / total) if total else None,
        }
    one, two = out.get("workers_1", {}).get("events_per_s"), out.get("workers_2", {}).get("events_per_s")
    out["speed_up"] = round(two / one, 2) if one and two else None
    return out
