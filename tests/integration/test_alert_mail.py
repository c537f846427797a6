"""The live worker's alert e-mail and digests on a drill clock, against a real SMTP server
and a real webhook receiver on loopback (issue 22; #19 item 1, second half)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from stream_app.jobs.worker import run_worker
from stream_app.kafka.admin import ensure_topics
from stream_app.kafka.broker import EmbeddedBroker
from tests.integration.helpers import eventually, query, settings_for
from tests.integration.test_live_worker import Clock, alerts_on_topic, produce
from tests.reliability.helpers import SECRET, Mailbox, Receiver

pytestmark = pytest.mark.integration

TAN_BIEN, OFFICE = "004.22.31.H53", "000.22.31.H53"


def recipients_file(tmp_path: Path) -> Path:
    path = tmp_path / "recipients.toml"
    path.write_text(f'task_force = ["to-cong-tac@example.vn"]\n[units]\n"{TAN_BIEN}" = ["cn.tanbien@example.vn"]\n'
                    f'"{OFFICE}" = ["vpdk@example.vn"]\n', encoding="utf-8")
    return path


def received(dossier: str, unit: str, at: str) -> tuple[str, bytes]:
    return dossier, orjson.dumps({"event_id": f"{dossier}/r", "event_type": "received", "dossier_id": dossier,
                                  "occurred_at": at, "agency_code": unit, "procedure_code": "1.012711"})


def mail_settings(tmp_path: Path, box: Mailbox, receiver: Receiver, **kw: Any) -> Any:
    return settings_for(tmp_path / "store", tick_s=0.05, smtp_host="127.0.0.1", smtp_port=box.port,
                        smtp_security="none", smtp_from="canhbao@example.vn", mail_recipients=recipients_file(tmp_path),
                        mail_batch_s=0.5, public_url="https://giamsat.example.vn", alert_webhooks=receiver.url,
                        webhook_secret=SECRET, **kw)


async def worker_until(s: Any, bootstrap: str, clock: Clock, done: Any, timeout: float = 60) -> None:
    """Run a live worker until `done()` holds (None: for `timeout` seconds), then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(s, bootstrap=bootstrap, stop=stop, now=clock))
    try:
        if done is None:
            await asyncio.sleep(timeout)
        else:
            await eventually(lambda: done() or task.done(), timeout=timeout)
        assert not task.done() or task.exception() is None
    finally:
        stop.set()
        await task


def test_a_breach_is_mailed_at_once_and_the_morning_digest_lists_the_overdue_dossier(tmp_path: Path):
    d1 = f"{TAN_BIEN}-240304-0001"
    with Mailbox() as box, Receiver() as receiver:
        async def scenario() -> None:
            with EmbeddedBroker() as broker:
                s = mail_settings(tmp_path, box, receiver)
                ensure_topics(broker.bootstrap, s)
                produce(broker.bootstrap, s.events_topic, [received(d1, TAN_BIEN, "2024-03-04T09:00:00+07:00")])
                # Due Thu 14/03 09:00: the breach at 00:00 on Fri 15/03, a working day.
                clock = Clock("2024-03-14T23:59:57+07:00")

                async def move() -> None:
                    await eventually(lambda: receiver.posts, timeout=60)  # caught up: the warning's digest
                    clock.set("2024-03-15T00:00:01+07:00")
                    await eventually(lambda: len(box.accepted()) >= 2, timeout=30)
                    clock.set("2024-03-15T07:00:01+07:00")

                mover = asyncio.create_task(move())
                await worker_until(s, broker.bootstrap, clock, lambda: len(box.accepted()) >= 5)
                await mover
                # A restart the same morning sends nothing again.
                clock.set("2024-03-15T07:10:00+07:00")
                await worker_until(s, broker.bootstrap, clock, None, timeout=12)

        asyncio.run(scenario())

    mails = {(m.recipients, m.subject.split("]")[0] + "]"): m for m in box.accepted()}
    assert sorted(mails) == [
        (("cn.tanbien@example.vn",), "[Cảnh báo hồ sơ]"), (("cn.tanbien@example.vn",), "[Tổng hợp đầu ngày 15/03/2024]"),
        (("to-cong-tac@example.vn",), "[Cảnh báo hồ sơ]"), (("to-cong-tac@example.vn",), "[Tổng hợp đầu ngày 15/03/2024]"),
        (("vpdk@example.vn",), "[Tổng hợp đầu ngày 15/03/2024]"),
    ]
    breach = mails[(("cn.tanbien@example.vn",), "[Cảnh báo hồ sơ]")]
    assert breach.subject == "[Cảnh báo hồ sơ] Chi nhánh huyện Tân Biên: 1 quá hạn xử lý"
    assert f"1. Quá hạn xử lý — hồ sơ {d1}" in breach.text()
    assert f"https://giamsat.example.vn/#ho-so={d1}" in breach.text()
    digest = mails[(("cn.tanbien@example.vn",), "[Tổng hợp đầu ngày 15/03/2024]")]
    assert digest.subject == "[Tổng hợp đầu ngày 15/03/2024] Chi nhánh huyện Tân Biên: 0 đến hạn hôm nay, 1 quá hạn"
    assert "- Quá hạn, chưa giải quyết: 1" in digest.text()
    assert f"1. {d1} — Đăng ký biến động" in digest.text()
    office = mails[(("vpdk@example.vn",), "[Tổng hợp đầu ngày 15/03/2024]")]
    assert "Không có hồ sơ nào cần chú ý hôm nay." in office.text()
    # The warning came due while nobody watched (13/03 09:00): a digest; the breach, live: a POST of its own.
    kinds = [orjson.loads(p.body).get("type") or orjson.loads(p.body)["kind"] for p in receiver.posts]
    assert kinds == ["alert.digest", "sla_breach"]
    assert receiver.signed()
    assert query(tmp_path / "store", "SELECT count() FROM dossier.outbox FINAL WHERE status != 'delivered'") == [(0,)]


def test_after_downtime_what_came_due_meanwhile_is_one_digest_per_unit_and_the_topic_keeps_every_alert(
        tmp_path: Path):
    branch = [f"{TAN_BIEN}-240304-000{i}" for i in range(1, 6)]
    office = [f"{OFFICE}-240304-000{i}" for i in range(1, 4)]
    with Mailbox() as box, Receiver() as receiver:
        async def scenario() -> list[dict[str, Any]]:
            with EmbeddedBroker() as broker:
                s = mail_settings(tmp_path, box, receiver)
                ensure_topics(broker.bootstrap, s)
                produce(broker.bootstrap, s.events_topic,
                        [received(d, TAN_BIEN, "2024-03-04T09:00:00+07:00") for d in branch]
                        + [received(d, OFFICE, "2024-03-04T10:00:00+07:00") for d in office])
                # Down since before the warnings (13/03) and the breaches (15/03 00:00): back on Saturday.
                clock = Clock("2024-03-16T10:00:00+07:00")
                await worker_until(s, broker.bootstrap, clock, lambda: len(box.accepted()) >= 3)
                return await alerts_on_topic(broker.bootstrap, s.alerts_topic, s.partitions)

        topic = asyncio.run(scenario())

    assert sorted((a["kind"], a["dossier_id"]) for a in topic) == sorted(
        [(k, d) for d in branch + office for k in ("sla_warning", "sla_breach")])
    digests = [Webhook(SECRET).verify(p.body, dict(p.headers)) for p in receiver.posts]
    assert sorted((d["type"], d["unit"], d["count"]) for d in digests) == [
        ("alert.digest", OFFICE, 6), ("alert.digest", TAN_BIEN, 10)]
    letters = sorted((m.recipients, m.subject) for m in box.accepted())
    assert letters == [
        (("cn.tanbien@example.vn",), "[Cảnh báo hồ sơ] Chi nhánh huyện Tân Biên: 5 quá hạn xử lý"),
        (("to-cong-tac@example.vn",), "[Cảnh báo hồ sơ] Tổ công tác: 8 quá hạn xử lý"),
        (("vpdk@example.vn",), "[Cảnh báo hồ sơ] Văn phòng Đăng ký đất đai tỉnh Tây Ninh: 3 quá hạn xử lý"),
    ]


def test_a_mail_server_that_is_down_delays_the_breach_letter_and_loses_nothing(tmp_path: Path):
    d1 = f"{TAN_BIEN}-240304-0001"
    box = Mailbox()  # down: nothing listens on its port yet
    with Receiver() as receiver:
        async def scenario() -> None:
            with EmbeddedBroker() as broker:
                s = mail_settings(tmp_path, box, receiver)
                ensure_topics(broker.bootstrap, s)
                produce(broker.bootstrap, s.events_topic, [received(d1, TAN_BIEN, "2024-03-04T09:00:00+07:00")])
                clock = Clock("2024-03-15T00:00:05+07:00")  # the breach came due 5 s ago: a letter at once
                stop = asyncio.Event()
                task = asyncio.create_task(run_worker(s, bootstrap=broker.bootstrap, stop=stop, now=clock))
                try:
                    await eventually(lambda: len(receiver.posts) >= 2, timeout=60)  # caught up, alerts out
                    await asyncio.sleep(3)  # the letters' round finds no server: they wait in the outbox
                    assert box.mails == []
                    box.start()  # back: the next try (backoff 5 s) sends them
                    await eventually(lambda: len(box.accepted()) >= 2, timeout=30)
                finally:
                    stop.set()
                    await task
                    box.stop()

        asyncio.run(scenario())
    assert sorted(m.recipients for m in box.accepted()) == [("cn.tanbien@example.vn",), ("to-cong-tac@example.vn",)]
    assert query(tmp_path / "store", "SELECT count() FROM dossier.outbox FINAL WHERE channel = 'mail' "
                                     "AND status != 'delivered'") == [(0,)]
