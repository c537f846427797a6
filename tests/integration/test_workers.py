"""`run --workers N`: worker processes on one served store give the tables of one worker,
even when one of them is killed mid-run (issue 17).

The embedded store is served by a child of the run (`dossier-stream store`'s engine); the
worker processes consume their shares of the events topic in one consumer group and write
over HTTP. A dossier lives on one partition, so sharing partitions shares nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from stream_app.replay.generate import generate
from tests.reliability.helpers import DOSSIER_STREAM, alive, children, cli_env, kill9, tables, wait_dead

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AS_OF = "2024-03-10T00:00:00+07:00"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("province") / "province.jsonl"
    generate(path, months=2, seed=11, dossiers_per_month=1500)
    return path


@pytest.fixture(scope="module")
def one(province: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[object, ...]]]:
    store = tmp_path_factory.mktemp("one") / "store"
    done = _run(province, store)
    assert done.wait(timeout=600) == 0
    return tables(store)


def _run(events: Path, store: Path, *extra: str, log: Path | None = None):
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen([DOSSIER_STREAM, "run", "--events", str(events), "--as-of", AS_OF, "--no-progress",
                             *extra], env=cli_env(store), stdout=out, stderr=subprocess.STDOUT)


def _logged(log: Path, event: str) -> bool:
    for line in log.read_bytes().splitlines():
        try:
            if json.loads(line).get("event") == event:
                return True
        except ValueError:
            continue
    return False


def _replicas(pid: int) -> list[int]:
    return [c for c in children(pid)
            if b"stream_app.jobs.replica" in Path(f"/proc/{c}/cmdline").read_bytes()]


def test_two_worker_processes_give_the_tables_of_one(province: Path, one, tmp_path: Path):
    log = tmp_path / "run.log"
    done = _run(province, tmp_path / "store", "--workers", "2", log=log)
    assert done.wait(timeout=600) == 0, log.read_text()[-3000:]

    two = tables(tmp_path / "store")
    for name in one:
        assert two[name] == one[name], f"{name} differs"
    assert one["alerts"] and one["dead_letters"]
    assert _logged(log, "fleet.assigned")


def test_a_worker_process_killed_mid_run_leaves_the_tables_of_one(province: Path, one, tmp_path: Path):
    log = tmp_path / "run.log"
    proc = _run(province, tmp_path / "store", "--workers", "2", log=log)
    deadline = time.monotonic() + 120
    while not _logged(log, "fleet.assigned") and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(1.0)  # the feed is on its way and both are processing
    victims = _replicas(proc.pid)
    assert len(victims) == 2 and proc.poll() is None
    os.kill(victims[1], signal.SIGKILL)
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]

    assert _logged(log, "fleet.worker_lost")
    after = tables(tmp_path / "store")
    for name in one:
        assert after[name] == one[name], f"{name} differs after a worker process was killed"


def test_nothing_a_killed_run_started_outlives_it(province: Path, tmp_path: Path):
    log = tmp_path / "run.log"
    proc = _run(province, tmp_path / "store", "--workers", "2", log=log)
    deadline = time.monotonic() + 120
    while not _logged(log, "fleet.assigned") and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    kids = [k for c in children(proc.pid) for k in [c, *children(c)]]
    assert len(kids) >= 4  # the broker, the served store, two worker processes
    kill9(proc)
    assert wait_dead(kids, timeout=15) == [], [open(f"/proc/{k}/cmdline", "rb").read() for k in kids if alive(k)]
