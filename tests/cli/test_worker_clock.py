"""A live worker on a store replayed from history does not jump to today by itself.

It says how far behind the store's clock is and exits 2, unless told: `--clock-start
store` runs it on a drill clock that starts at the store's own clock (to look at
replayed data live), `--catch-up` moves the clock on after real downtime.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream_app.kafka.broker import free_port
from tests.cli.helpers import ROOT, cli
from tests.integration.helpers import query, write_jsonl

pytestmark = pytest.mark.integration

EVENTS = [{"event_id": f"e{i}", "event_type": "received", "dossier_id": f"000.22.31.H53-240304-{i:04d}",
           "occurred_at": "2024-03-04T09:00:00+07:00", "agency_code": "000.22.31.H53", "procedure_code": "1.012711"}
          for i in range(1, 4)]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("replayed")
    done = cli("run", "--events", str(write_jsonl(tmp / "e.jsonl", EVENTS)), "--no-progress", store=tmp / "store")
    assert done.returncode == 0, done.stderr[-1500:]
    return tmp / "store"


def test_a_worker_refuses_to_move_a_replayed_stores_clock_to_today(replayed: Path):
    alerts = query(replayed, "SELECT count() FROM dossier.alerts FINAL")

    done = cli("worker", store=replayed, timeout=120)

    assert done.returncode == 2, done.stderr[-2000:]
    message = " ".join(json.loads(done.stderr.strip().splitlines()[-1])["detail"].split())
    assert "the store's clock stands at 04/03/2024" in message and "days behind now" in message
    assert "--clock-start store" in message and "--catch-up" in message
    assert query(replayed, "SELECT count() FROM dossier.alerts FINAL") == alerts  # nothing fired


def test_on_a_drill_clock_from_the_store_it_runs_and_tells_where_the_page_is(replayed: Path):
    env = {**os.environ, "DOSSIER_LOG_FORMAT": "json", "DOSSIER_CLICKHOUSE": f"chdb://{replayed}",
           "DOSSIER_WEB_ENABLED": "true", "DOSSIER_WEB_PORT": str(free_port())}
    proc = subprocess.Popen([sys.executable, "-m", "stream_app.cli", "worker", "--clock-start", "store"], env=env,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        started = _wait_for(proc, "worker.started")
        assert started["clock"].startswith("2024-03-04")
        assert started["page"].startswith("http://127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            stopped = proc.wait(timeout=60)
        finally:
            proc.kill()  # never left behind, whatever happened
    assert stopped == 0
    assert query(replayed, "SELECT max(month) FROM dossier.monthly_report")[0][0].isoformat() == "2024-03-01"


def _wait_for(proc: subprocess.Popen[str], event: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if f'"{event}"' in line:
            return json.loads(line)
    raise AssertionError(f"{event} not logged")
