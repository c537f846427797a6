"""Personal fields of the sync records are dropped at the edge: no table, topic or log line has one (issue 21)."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import date
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream_app.kafka.broker import EmbeddedBroker
from stream_app.replay.generate import generate
from tests.reliability.helpers import DOSSIER_STREAM, cli_env, dump

pytestmark = pytest.mark.integration


async def everything_on(bootstrap: str, topics: list[str]) -> str:
    """Every key, value and header of every record on these topics, as text."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        await c.topics()  # the cluster's metadata, so every partition of every topic is known
        tps = [TopicPartition(t, p) for t in topics for p in (c.partitions_for_topic(t) or ())]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        parts: list[bytes] = []
        while batch := await c.getmany(timeout_ms=1500):
            for msgs in batch.values():
                for m in msgs:
                    parts += [m.key or b"", m.value or b"", *(v for _, v in m.headers)]
        return b"\n".join(parts).decode("utf-8", "replace")
    finally:
        await c.stop()


def test_no_personal_value_of_a_sync_record_reaches_a_table_a_topic_or_a_log_line(tmp_path: Path):
    province = tmp_path / "dvcqg.jsonl"
    stats = generate(province, months=1, seed=7, dossiers_per_month=120, start=date(2023, 10, 1), format="dvcqg")
    personal = stats.personal
    raw = province.read_text("utf-8")
    assert len(personal) > 500 and sum(v in raw for v in personal) == len(personal)  # names, IDs, phones, e-mails, addresses
    with EmbeddedBroker() as broker:
        env = cli_env(tmp_path / "store", DOSSIER_BROKER=broker.bootstrap, DOSSIER_LOG_LEVEL="DEBUG")
        done = subprocess.run([DOSSIER_STREAM, "sync", "--file", str(province), "--no-progress"], env=env,
                              capture_output=True, timeout=240)
        log = (done.stdout + done.stderr).decode("utf-8", "replace")
        assert done.returncode == 0, log[-3000:]
        topics = asyncio.run(everything_on(broker.bootstrap, ["dossier.events", "dossier.events.dlq", "dossier.alerts"]))
    store = dump(tmp_path / "store")
    assert "invalid_json" in store and "unmapped_record" in store  # the noise went to the dead letters
    assert ":sync:received" in topics and '"dead_letter.unmapped_record"' not in topics
    assert "replay.produced" in log  # debug logs of the whole run
    for where, text in (("tables", store), ("topics", topics), ("log", log)):
        assert [v for v in personal if v in text] == [], where
