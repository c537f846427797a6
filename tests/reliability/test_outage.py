"""ClickHouse goes away under a running worker (issue 7, item 2).

The fault is injected in the client layer: the sink's client raises on every insert
while the outage lasts, as clickhouse-connect does when a server refuses connections.
The pipeline must hold the batch (no offset acknowledged, nothing lost), retry with
backoff, log the outage once and its end once, and carry on by itself.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
import structlog
from clickhouse_connect.driver.exceptions import OperationalError
from kafka.admin import KafkaAdminClient

import stream_app.core.pipeline as pipeline_module
import stream_app.jobs.stack as stack_module
from stream_app.core.pipeline import Pipeline
from stream_app.jobs.run import run_file
from stream_app.kafka.broker import EmbeddedBroker
from stream_app.settings import Settings
from stream_app.store.writer import ClickHouseSink
from tests.integration.helpers import eventually as until
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
