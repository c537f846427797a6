"""ClickHouse goes away under a running worker (issue 7, item 2).

The fault is injected in the client layer: the sink's client raises on every insert
while the outage lasts, as clickhouse-connect does when a server refuses connections.
The pipeline must hold the batch (no offset acknowledged, nothing lost), retry with
backoff, log the outage once and its end once, and carry on by itself.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import structlog
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError, ProgrammingError
from kafka.admin import KafkaAdminClient

import stream_app.core.pipeline as pipeline_module
import stream_app.jobs.stack as stack_module
from stream_app.core.pipeline import Pipeline
from stream_app.jobs.run import run_file
from stream_app.kafka.broker import EmbeddedBroker
from stream_app.settings import Settings
from stream_app.store.client import is_transient
from stream_app.store.writer import ClickHouseSink
from tests.integration.helpers import eventually as until
from tests.integration.helpers import query
from tests.reliability.conftest import CleanRun
from tests.reliability.helpers import tables

pytestmark = pytest.mark.integration


class FlakyClient:
    """The real client, except that `insert` raises while `down` is set."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.down = threading.Event()
        self.failures = 0

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        if self.down.is_set():
            self.failures += 1
            raise OperationalError("Error HTTPConnectionPool(host='clickhouse', port=8123): Connection refused")
        return self._client.insert(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def committed_offsets(bootstrap: str, group: str) -> dict[Any, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
        return {tp: o.offset for tp, o in offsets.items() if o.offset >= 0}
    finally:
        admin.close()


def test_an_outage_holds_the_batch_logs_once_and_recovers_with_nothing_lost(
        clean: CleanRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    flaky: list[FlakyClient] = []
    pipelines: list[Pipeline] = []

    def sink(client: Any, database: str, columns: Any) -> ClickHouseSink:
        wrapped = FlakyClient(client)
        wrapped.down.set()  # down from the first write on
        flaky.append(wrapped)
        return ClickHouseSink(wrapped, database, columns)

    class Recorded(Pipeline):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            pipelines.append(self)

    monkeypatch.setattr(stack_module, "ClickHouseSink", sink)
    monkeypatch.setattr(stack_module, "Pipeline", Recorded)
    settings = Settings(clickhouse=f"chdb://{tmp_path / 'store'}")
    during: dict[str, Any] = {}

    async def scenario(bootstrap: str) -> None:
        run = asyncio.create_task(run_file(settings, clean.events, bootstrap=bootstrap))
        await until(lambda: flaky and flaky[0].failures >= 3, timeout=90)
        p = pipelines[0]
        during.update(positions=dict(p.positions), processed=p.processed,
                      committed=await asyncio.to_thread(committed_offsets, bootstrap, settings.app_id))
        flaky[0].down.clear()
        await run

    with structlog.testing.capture_logs() as logs:
        # A logger bound before this test would bypass the capture: take a fresh one.
        monkeypatch.setattr(pipeline_module, "log", structlog.get_logger(pipeline_module.__name__))
        with EmbeddedBroker() as broker:
            asyncio.run(scenario(broker.bootstrap))

    # While inserts failed, Pipeline.handle had not returned: no position, no acknowledged offset.
    assert during == {"positions": {}, "processed": 0, "committed": {}}
    assert tables(tmp_path / "store") == clean.tables
    events = [e["event"] for e in logs if e["event"] in ("sink.outage", "sink.recovered")]
    assert events == ["sink.outage", "sink.recovered"]
    outage = next(e for e in logs if e["event"] == "sink.outage")
    assert outage["error"] == "OperationalError" and outage["pending"] > 0


# The events table gets a column it does not have: a fault in the code, not an outage.
WRONG_COLUMN = """
import sys
from stream_app.store import rows
rows.TABLE_COLUMNS["events"] = (*rows.EVENT_COLUMNS[:-1], "no_such_column")
from stream_app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_store_error_that_is_not_an_outage_stops_the_job_at_once(clean: CleanRun, tmp_path: Path):
    env = {**os.environ, "DOSSIER_CLICKHOUSE": f"chdb://{tmp_path / 'store'}"}
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-c", WRONG_COLUMN, "run", "--events", str(clean.events), "--no-progress",
                           "--log-format", "json"], env=env, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])

    assert done.returncode == 1, done.stderr[-2000:]
    assert time.monotonic() - t0 < 60
    assert '"pipeline.failed"' in done.stderr and "ProgrammingError" in done.stderr
    assert '"sink.outage"' not in done.stderr  # never retried as if it would pass
    assert query(tmp_path / "store", "SELECT count() FROM dossier.events") == [(0,)]


@pytest.mark.parametrize(("error", "transient"), [
    (OperationalError("HTTPConnectionPool: Connection refused"), True),
    (ConnectionResetError(104, "Connection reset by peer"), True),
    (TimeoutError("read timed out"), True),
    (DatabaseError("Code: 159. DB::Exception: Timeout exceeded"), False),  # no code attribute: not trusted
    (ProgrammingError("Unrecognized column 'x' in table dossier.events"), False),
    (TypeError("an int where a string was expected"), False),
])
def test_only_errors_that_pass_are_retried(error: Exception, transient: bool):
    assert is_transient(error) is transient


def test_server_overload_and_lock_codes_are_retried():
    for code in (159, 202, 209, 210, 241, 252, 473):
        error = DatabaseError(f"Code: {code}.")
        error.code = code
        assert is_transient(error)
    not_retried = DatabaseError("Code: 47.")
    not_retried.code = 47  # UNKNOWN_IDENTIFIER
    assert not is_transient(not_retried)
