"""Broker trouble (issue 7, item 3): unreachable at start, gone in the middle of a run.

Bounded behaviour: at start, `dossier-stream` waits up to `DOSSIER_BROKER_WAIT_S`
(default 15 s) for any bootstrap server, then exits 2 naming the address and the
variable to check. A running job
whose broker stops answering logs it once, keeps going if it comes back, and after
`DOSSIER_BROKER_GIVE_UP_S` (default 30 s) stops with a clear message and exit 2 —
having acknowledged nothing that is not in ClickHouse.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import orjson
import pytest
import structlog
from kafka import KafkaProducer

import stream_app.kafka.admin as broker_module
from stream_app.kafka.admin import BrokerUnavailable, wait_for_broker, watch_broker
from stream_app.kafka.broker import EmbeddedBroker, free_port
from stream_app.settings import Settings
from tests.reliability.helpers import (
    DOSSIER_STREAM,
    alive,
    children,
    cli_env,
    query,
    wait_dead,
)

pytestmark = pytest.mark.integration

OFFICE = "000.22.31.H53"


def test_an_unreachable_broker_at_start_exits_2_with_a_clear_message(province: Path, tmp_path: Path):
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    done = subprocess.run([DOSSIER_STREAM, "run", "--events", str(province), "--no-progress"],
                          env=cli_env(tmp_path / "store", DOSSIER_BROKER=f"127.0.0.1:{port}",
                                      DOSSIER_BROKER_WAIT_S="3"),
                          capture_output=True, timeout=60)
    elapsed = time.monotonic() - t0
    assert done.returncode == 2
    assert elapsed < 25, f"took {elapsed:.0f}s"
    failed = [json.loads(line) for line in done.stderr.splitlines() if b'"command.failed"' in line]
    assert len(failed) == 1, done.stderr.decode()[-2000:]
    assert failed[0]["error"] == "BrokerUnavailable"
    assert f"no Kafka broker answers at 127.0.0.1:{port}" in failed[0]["detail"]
    assert "DOSSIER_BROKER" in failed[0]["detail"]
    assert b"Traceback" not in done.stderr


def test_any_answering_bootstrap_server_is_enough():
    with EmbeddedBroker() as broker:
        t0 = time.monotonic()
        wait_for_broker(f"127.0.0.1:{free_port()},{broker.bootstrap}", timeout_s=5)
        assert time.monotonic() - t0 < 2


def test_the_broker_watch_gives_up_after_the_bound_and_logs_the_loss_once(monkeypatch: pytest.MonkeyPatch):
    async def scenario(broker: EmbeddedBroker) -> tuple[float, BaseException | None]:
        watch = asyncio.create_task(watch_broker(broker.bootstrap, give_up_s=2, interval_s=0.1))
        await asyncio.sleep(0.5)
        assert not watch.done()  # the broker answers: the watch just waits
        broker.stop()
        t0 = time.monotonic()
        with pytest.raises(BrokerUnavailable) as err:
            await asyncio.wait_for(watch, timeout=10)
        return time.monotonic() - t0, err.value

    with structlog.testing.capture_logs() as logs:
        monkeypatch.setattr(broker_module, "log", structlog.get_logger(broker_module.__name__))
        with EmbeddedBroker() as broker:
            elapsed, err = asyncio.run(scenario(broker))
    assert 2 <= elapsed < 3.5
    assert f"the Kafka broker at {broker.bootstrap} has not answered for 2s; stopping" in str(err)
    assert [e["event"] for e in logs if e["event"].startswith("broker.") and "embedded" not in e["event"]] == [
        "broker.unreachable"]


def received(i: int) -> tuple[bytes, bytes]:
    dossier = f"{OFFICE}-240304-{i:04d}"
    return dossier.encode(), orjson.dumps({
        "event_id": f"r{i}", "event_type": "received", "dossier_id": dossier,
        "occurred_at": "2024-03-04T09:00:00+07:00", "agency_code": OFFICE, "procedure_code": "1.012711"})


@pytest.mark.skipif("broker_give_up_s" not in Settings.model_fields,
                    reason="needs the broker watch wired into runner.py and settings.py (issue 7)")
def test_a_worker_whose_broker_dies_stops_with_exit_2_and_keeps_what_it_committed(tmp_path: Path):
    store, log = tmp_path / "store", tmp_path / "worker.log"
    env = cli_env(store, DOSSIER_BROKER_GIVE_UP_S="3", DOSSIER_STOP_TIMEOUT_S="5", DOSSIER_TICK_S="0.2")
    with open(log, "wb") as out:
        worker = subprocess.Popen([DOSSIER_STREAM, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        bootstrap = None
        deadline = time.monotonic() + 60
        while bootstrap is None and time.monotonic() < deadline:
            for line in log.read_text().splitlines():
                if '"broker.embedded.started"' in line:
                    bootstrap = json.loads(line)["bootstrap"]
            time.sleep(0.1)
        assert bootstrap, log.read_text()
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        for i in range(5):
            key, value = received(i)
            producer.send("dossier.events", key=key, value=value)
        producer.flush()
        producer.close()
        # Old events on today's wall clock: each dossier's warning and breach fire once
        # caught up, and an alert is logged only after its rows are in ClickHouse.
        while log.read_text().count('"alert.emitted"') < 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert log.read_text().count('"alert.emitted"') == 10, log.read_text()[-3000:]

        tansu = [pid for pid in children(worker.pid) if alive(pid)]
        assert tansu, "no embedded broker"
        subprocess.run(["kill", "-9", *map(str, tansu)], check=True)
        t0 = time.monotonic()
        assert worker.wait(timeout=60) == 2
        stopped_s = time.monotonic() - t0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    text = log.read_text()
    assert stopped_s < 3 + 1 + 5 + 5, f"stopped after {stopped_s:.1f}s"
    assert text.count('"broker.unreachable"') == 1
    failed = [json.loads(line) for line in text.splitlines() if '"command.failed"' in line]
    assert failed and "has not answered for 3s; stopping" in failed[0]["detail"]
    assert wait_dead(tansu) == []
    assert query(store, "SELECT count() FROM dossier.events FINAL") == [(5,)]
    assert query(store, "SELECT count() FROM dossier.alerts FINAL") == [(10,)]
