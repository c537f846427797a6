"""A worker killed with -9 and started again carries on (issue 11).

The embedded broker dies with the worker and comes back empty: the open
dossiers, their timers and the alerts already emitted come back from the
ClickHouse store. The worker runs as a user runs it, in a subprocess, with its
wall clock started at a chosen moment (`DOSSIER_LIVE_CLOCK_START`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.integration.helpers import query, run, write_jsonl

pytestmark = pytest.mark.integration

D1 = "000.22.31.H53-240304-0001"


def start_worker(store: Path, clock_start: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DOSSIER_CLICKHOUSE": f"chdb://{store}", "DOSSIER_LIVE_CLOCK_START": clock_start,
           "DOSSIER_TICK_S": "0.2", "DOSSIER_LOG_FORMAT": "json"}
    env.pop("DOSSIER_BROKER", None)
    return subprocess.Popen([sys.executable, "-m", "stream_app.cli", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_alerts(proc: subprocess.Popen[bytes], count: int, timeout: float = 60.0) -> list[dict]:
    """Read the worker's JSON log until `count` alert.emitted lines have appeared."""
    os.set_blocking(proc.stderr.fileno(), False)
    seen, buf, deadline = [], b"", time.monotonic() + timeout
    while time.monotonic() < deadline and len(seen) < count:
        chunk = proc.stderr.read() or b""
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if rec.get("event") == "alert.emitted":
                seen.append(rec)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    return seen


def test_killed_worker_restarts_with_its_open_dossiers_and_never_repeats_an_alert(tmp_path: Path):
    store = tmp_path / "store"
    path = write_jsonl(tmp_path / "a.jsonl", [{
        "event_id": "a1", "event_type": "received", "dossier_id": D1,
        "occurred_at": "2024-03-04T09:00:00+07:00", "agency_code": "000.22.31.H53", "procedure_code": "1.012711",
    }])
    run(path, store)  # D1 is open, due Thu 14/03 09:00; no alert yet

    worker = start_worker(store, "2024-03-13T08:59:55+07:00")  # the warning falls due at 09:00
    try:
        first = wait_for_alerts(worker, 1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert [(a["kind"], a["dossier_id"]) for a in first] == [("sla_warning", D1)]

    worker = start_worker(store, "2024-03-15T00:00:01+07:00")  # past the end of the due day
    try:
        second = wait_for_alerts(worker, 1)
        time.sleep(2)  # a repeat of the warning would show up by now
        second += wait_for_alerts(worker, 1, timeout=1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert [(a["kind"], a["dossier_id"]) for a in second] == [("sla_breach", D1)]

    rows = query(store, "SELECT kind, count() FROM dossier.alerts FINAL GROUP BY kind ORDER BY kind")
    assert rows == [("sla_breach", 1), ("sla_warning", 1)]
    state = query(store, "SELECT classification FROM dossier.dossier_state FINAL WHERE dossier_id = {d:String}", d=D1)
    assert state == [("open_overdue",)]
