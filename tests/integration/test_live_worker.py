"""The live worker: timers follow an injected wall clock, only once caught up (issue 3)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaProducer

from stream_app.jobs.worker import run_worker
from stream_app.kafka.admin import ensure_topics
from stream_app.kafka.broker import EmbeddedBroker
from tests.integration.helpers import committed_at_least, settings_for

pytestmark = pytest.mark.integration

OFFICE = "000.22.31.H53"
D1 = "000.22.31.H53-240304-0001"
D2 = "000.22.31.H53-240304-0002"


class Clock:
    """The wall clock, moved by the test."""

    def __init__(self, start: str) -> None:
        self.t = datetime.fromisoformat(start)

    def set(self, when: str) -> None:
        self.t = datetime.fromisoformat(when)

    def __call__(self) -> datetime:
        return self.t


def event(eid: str, kind: str, dossier: str, at: str, **own: object) -> bytes:
    return orjson.dumps({"event_id": eid, "event_type": kind, "dossier_id": dossier,
                         "occurred_at": at, "agency_code": OFFICE, **own})


def produce(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    p = KafkaProducer(bootstrap_servers=bootstrap)
    for key, value in records:
        p.send(topic, key=key.encode(), value=value)
    p.flush()
    p.close()


async def alerts_on_topic(bootstrap: str, topic: str, partitions: int) -> list[dict]:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        out = []
        while True:
            batch = await c.getmany(timeout_ms=1500)
            if not batch:
                return sorted(out, key=lambda a: (a["fires_at"], a["kind"]))
            out += [orjson.loads(m.value) for msgs in batch.values() for m in msgs]
    finally:
        await c.stop()


def test_breach_fires_on_the_wall_clock_and_a_restart_with_backlog_raises_no_false_alarm(tmp_path: Path):
    async def scenario() -> list[dict]:
        with EmbeddedBroker() as broker:
            s = settings_for(tmp_path / "store", tick_s=0.05, batch_size=1)
            ensure_topics(broker.bootstrap, s)
            clock = Clock("2024-03-04T08:30:00+07:00")
            produce(broker.bootstrap, s.events_topic, [
                (D1, event("a1", "received", D1, "2024-03-04T09:00:00+07:00", procedure_code="1.012711")),
            ])
            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(s, bootstrap=broker.bootstrap, stop=stop, now=clock))
            # D1 is due Thu 14/03 09:00: the warning at 13/03 09:00, the breach at the end of 14/03.
            clock.set("2024-03-14T23:00:00+07:00")
            await asyncio.sleep(8)  # group join + a few ticks
            clock.set("2024-03-15T00:00:05+07:00")
            await asyncio.sleep(2)
            stop.set()
            await worker

            # While the worker is down, D2 arrives and is concluded early: a backlog.
            produce(broker.bootstrap, s.events_topic, [
                (D2, event("b1", "received", D2, "2024-03-04T10:00:00+07:00", procedure_code="1.012713")),
                (D2, event("b2", "concluded", D2, "2024-03-06T09:00:00+07:00", outcome="approved")),
                (D2, event("b3", "result_attached", D2, "2024-03-06T10:00:00+07:00")),
            ])
            clock.set("2024-03-20T09:00:00+07:00")  # long after D2's due time (11/03)
            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(s, bootstrap=broker.bootstrap, stop=stop, now=clock))
            # The backlog must really go through the restarted worker (one record per
            # batch: the worst case), and a few ticks must pass once it is caught up.
            await committed_at_least(broker.bootstrap, s, 4, timeout_s=60)
            await asyncio.sleep(1)
            stop.set()
            await worker
            return await alerts_on_topic(broker.bootstrap, s.alerts_topic, s.partitions)

    alerts = asyncio.run(scenario())
    assert [(a["kind"], a["dossier_id"], a["fires_at"]) for a in alerts] == [
        ("sla_warning", D1, "2024-03-13T09:00:00.000+07:00"),
        ("sla_breach", D1, "2024-03-15T00:00:00.000+07:00"),
    ]
    assert all(not a["retracted"] for a in alerts)
    assert "Quá hạn" in alerts[1]["message"]
