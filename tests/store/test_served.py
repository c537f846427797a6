"""One embedded store served to other processes over ClickHouse's own HTTP protocol.

This rests on an undocumented path of the pinned chDB engine (`pyproject.toml`,
`constraints.txt`): every run of the default suite serves a store, so an engine upgrade
that loses it fails here first, not in the field.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stream_app.store.client import StoreHeld, connect
from stream_app.store.served import ServedStore
from tests.cli.helpers import ROOT, cli, hold
from tests.integration.helpers import query, run, write_jsonl

pytestmark = pytest.mark.integration

EVENTS = [
    {"event_id": "e1", "event_type": "received", "dossier_id": "000.22.31.H53-240304-0001",
     "occurred_at": "2024-03-04T09:00:00+07:00", "agency_code": "000.22.31.H53", "procedure_code": "1.012711"},
    {"event_id": "e2", "event_type": "concluded", "dossier_id": "000.22.31.H53-240304-0001",
     "occurred_at": "2024-03-06T10:00:00+07:00", "agency_code": "000.22.31.H53", "outcome": "approved"},
]


def test_two_processes_write_and_read_one_served_store_and_it_opens_embedded_afterwards(tmp_path: Path):
    store = tmp_path / "store"
    with ServedStore(store) as served:
        assert served.dsn.startswith("http://127.0.0.1:")
        here = connect(served.dsn)
        here.command("CREATE TABLE t (k UInt32, v String) ENGINE = ReplacingMergeTree ORDER BY k")
        here.insert("t", [[1, "a"], [2, "b"]], column_names=["k", "v"])
        other = subprocess.run(  # another process, as a worker or `report` would be
            [sys.executable, "-c", "import sys, clickhouse_connect as cc; c = cc.get_client(dsn=sys.argv[1]); "
             "c.insert('t', [[2, 'b2']], column_names=['k', 'v'])", served.dsn], capture_output=True, timeout=60)
        assert other.returncode == 0, other.stderr
        assert here.query("SELECT k, v FROM t FINAL ORDER BY k").result_rows == [(1, "a"), (2, "b2")]
        here.close()
    assert not served.alive()
    assert query(store, "SELECT k, v FROM t FINAL ORDER BY k") == [(1, "a"), (2, "b2")]


def test_a_store_another_process_holds_is_not_served(tmp_path: Path):
    store = tmp_path / "store"
    holder = hold(store)
    try:
        with pytest.raises(StoreHeld, match="held by another process"):
            ServedStore(store).start()
    finally:
        holder.kill()
        holder.wait()


def test_the_store_command_serves_what_a_run_wrote_to_report_and_stops_cleanly_on_ctrl_c(tmp_path: Path):
    store = tmp_path / "store"
    run(write_jsonl(tmp_path / "e.jsonl", EVENTS), store)
    proc = subprocess.Popen([sys.executable, "-m", "stream_app.cli", "store"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "DOSSIER_CLICKHOUSE": f"chdb://{store}", "DOSSIER_LOG_FORMAT": "json"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"serving {store} at http://127.0.0.1:"), first
        url = first.split(" at ")[1].split()[0]
        for _ in range(2):
            proc.stdout.readline()

        report = cli("report", "--month", "2024-03", "--format", "csv", DOSSIER_CLICKHOUSE=url)
        assert report.returncode == 0, report.stderr[-1500:]
        assert "(1 đơn vị tiếp nhận)" in report.stdout  # what the run wrote, read over HTTP
        held = cli("report", "--month", "2024-03", store=store)  # the embedded path is the server's now
        assert held.returncode == 2 and "held by another process" in held.stderr

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert query(store, "SELECT count() FROM dossier.events FINAL") == [(2,)]


def test_only_an_embedded_store_is_served(tmp_path: Path):
    done = cli("store", DOSSIER_CLICKHOUSE="http://127.0.0.1:1")
    assert done.returncode == 2 and "not an embedded store" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_batch_of_thousands_of_new_dossiers_is_looked_up_in_queries_the_server_accepts(tmp_path: Path):
    """A replay's batch meets thousands of dossiers the store may know; over HTTP their codes
    go as one form field per query, which the server bounds (128 KiB): asked for in chunks."""
    from stream_app.store.migrate import migrate
    from stream_app.store.restore import Restorer

    path = write_jsonl(tmp_path / "two.jsonl", EVENTS)
    run(path, tmp_path / "store")
    wanted = [f"000.22.31.H53-240304-{i:04d}" for i in range(1, 10_000)]  # ~270 KB of codes
    with ServedStore(tmp_path / "store") as served:
        client = connect(served.dsn)
        migrate(client, "dossier")
        found = Restorer(client, "dossier").dossiers(wanted)
        client.close()
    assert [(d, [e.event_id for e in evs]) for d, (evs, _) in found.items()] == [(EVENTS[0]["dossier_id"], ["e1", "e2"])]
