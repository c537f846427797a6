"""The live worker takes the provincial systems' sync envelopes: POST /sync and the dossier.sync topic (issue 21)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaProducer

from stream_app.jobs.worker import run_worker
from stream_app.kafka.broker import EmbeddedBroker, free_port
from tests.integration.helpers import eventually, query, settings_for

pytestmark = pytest.mark.integration

SECRET = "province-sync-secret"
D1 = "001.22.31.H53-240304-0001"
D2 = "002.22.31.H53-240304-0002"
APPLICANT = "Trương Thị Ngân"


def record(dossier: str, **fields: object) -> dict:
    return {"MaHoSo": dossier, "MaTTHC": "1.012711", "NgayTiepNhan": "20240304090000", "NgayHenTra": "20240314090000",
            "TrangThaiHoSo": "2", "DonViXuLy": "Chi nhánh Văn phòng Đăng ký đất đai thành phố Tây Ninh",
            "KenhThucHien": "1", "ChuHoSo": APPLICANT, "DinhDanhCHS": "079203001234", **fields}


def envelope(*records: dict, session: str = "portal-token") -> bytes:
    return orjson.dumps({"session": session, "madonvi": "001.22.31.H53", "service": "DongBoHoSoMC",
                         "isUpdating": "False", "data": list(records)})


def post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/sync", data=body, method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def topic_values(bootstrap: str, topic: str) -> list[bytes]:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        parts = c.partitions_for_topic(topic) or {0}
        tps = [TopicPartition(topic, p) for p in parts]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        out: list[bytes] = []
        while batch := await c.getmany(timeout_ms=1500):
            out += [m.value for msgs in batch.values() for m in msgs]
        return out
    finally:
        await c.stop()


def test_the_worker_answers_like_the_portal_and_converts_what_it_took(tmp_path: Path):
    port = free_port()

    async def scenario() -> tuple[list, list[bytes]]:
        with EmbeddedBroker() as broker:
            s = settings_for(tmp_path / "store", sync_enabled=True, sync_secret=SECRET, web_port=port, tick_s=0.05)
            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(s, bootstrap=broker.bootstrap, stop=stop))
            loop = asyncio.get_running_loop()

            async def call(body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
                return await loop.run_in_executor(None, post, port, body, headers)

            for _ in range(300):  # the group join and the web server take a few seconds
                try:
                    if (await call(b"{}", {}))[0] == 401:
                        break
                except OSError:
                    await asyncio.sleep(0.2)
            answers = [
                await call(envelope(record(D1)), {"X-Sync-Secret": "wrong"}),
                await call(b"not json", {"X-Sync-Secret": SECRET}),
                await call(envelope(record(D1)), {"X-Sync-Secret": SECRET}),
                await call(envelope(record(D1, TrangThaiHoSo="4"), session=SECRET), {}),  # the session as the secret
            ]
            # A province with a bus puts the raw envelope on dossier.sync itself.
            p = KafkaProducer(bootstrap_servers=broker.bootstrap)
            p.send(s.sync_topic, key=D2.encode(), value=envelope(record(D2)))
            p.send(s.sync_topic, key=b"D3", value=envelope(record("D3", TrangThaiHoSo="99")))
            p.flush()
            p.close()

            def both_received() -> bool:
                store = tmp_path / "store"
                return (len(query(store, "SELECT 1 FROM dossier.events WHERE event_type = 'received'")) == 2
                        and len(query(store, "SELECT 1 FROM dossier.dead_letters")) == 1)

            await eventually(lambda: stop.is_set() or both_received(), timeout=60)
            stop.set()
            await worker
            return answers, await topic_values(broker.bootstrap, s.sync_topic)

    answers, on_topic = asyncio.run(scenario())
    assert [(status, a["error_code"]) for status, a in answers] == [(401, -1), (400, 1), (200, 0), (200, 0)]
    assert answers[2][1]["message"] == "Thành công"
    rows = query(tmp_path / "store", "SELECT event_id, agency_code, procedure_code FROM dossier.events FINAL ORDER BY 1")
    assert rows == [(f"{D1}:sync:received", "001.22.31.H53", "1.012711"),
                    (f"{D2}:sync:received", "001.22.31.H53", "1.012711")]
    [(source, code, raw)] = query(tmp_path / "store", "SELECT source, error_code, raw FROM dossier.dead_letters")
    assert (source.startswith("dossier.sync/0/"), code) == (True, "unmapped_record")
    assert APPLICANT not in raw and "D3" in raw  # the record's known fields, not the sender's bytes
    # What the endpoint published carries no applicant, no identity number, no portal token.
    posted = [v for v in on_topic if D1.encode() in v]
    assert len(posted) == 2 and not any(APPLICANT.encode() in v or b"079203001234" in v or b"portal-token" in v
                                        for v in posted)


def test_a_worker_asked_to_take_sync_records_without_a_secret_refuses_to_start():
    from stream_app.jobs.stack import Stack
    from stream_app.settings import Settings

    with pytest.raises(ValueError, match="DOSSIER_SYNC_ENABLED needs DOSSIER_SYNC_SECRET"):
        Stack(Settings(sync_enabled=True), "127.0.0.1:9", live=True)
