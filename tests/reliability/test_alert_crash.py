"""kill -9 around the alert channels, then the same command again (issue 22, items 1 and 3).

- The alerts topic: an alert written to the table just before a crash was restored as
  fired and never sent to `dossier.alerts`. Now its outbox row, written before it, makes
  the next start send it: the worker is killed right after the table write, before the
  first send to the topic, and the rerun sends every alert of the table at least once.
- E-mail: the live worker is killed when the SMTP server receives its first letter (the
  server answers 451: not accepted); the restarted worker sends every letter exactly once.

The broker is the test's own (`DOSSIER_BROKER`), so the topic outlives the killed worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stream_app.kafka.admin import ensure_topics
from stream_app.kafka.broker import EmbeddedBroker
from stream_app.settings import Settings
from tests.integration.test_alert_mail import TAN_BIEN, received, recipients_file
from tests.integration.test_live_worker import alerts_on_topic, produce
from tests.reliability.conftest import CleanRun
from tests.reliability.helpers import DOSSIER_STREAM, Mail, Mailbox, cli_env, query

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

# `dossier-stream run`, killed (SIGKILL, no clean-up) the first time it would send an alert
# to the topic: its outbox and alert rows are in the store, nothing is on the topic.
KILLED_BEFORE_THE_TOPIC = """
import os, signal, sys
from stream_app import cli
from stream_app.kafka.publisher import KafkaPublisher

def send(self, sends):
    os.kill(os.getpid(), signal.SIGKILL)

KafkaPublisher.send = send
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_kill_between_the_alerts_table_and_the_topic_loses_no_alert_on_the_topic(clean: CleanRun, tmp_path: Path):
    store, log = tmp_path / "store", tmp_path / "run.log"
    with EmbeddedBroker() as broker, open(log, "ab") as out:
        env = cli_env(store, DOSSIER_BROKER=broker.bootstrap)
        args = ["run", "--events", str(clean.events), "--no-progress"]
        killed = subprocess.run([sys.executable, "-c", KILLED_BEFORE_THE_TOPIC, *args], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, timeout=180)
        assert killed.returncode == -signal.SIGKILL, log.read_text()[-3000:]
        written = query(store, "SELECT alert_id, version FROM dossier.alerts FINAL")
        assert written, "killed before any alert was written"
        assert subprocess.run([DOSSIER_STREAM, *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                              timeout=180).returncode == 0, log.read_text()[-3000:]
        settings = Settings()
        topic = asyncio.run(alerts_on_topic(broker.bootstrap, settings.alerts_topic, settings.partitions))
    on_topic = {(a["alert_id"], a["version"]) for a in topic}
    stored = set(query(store, "SELECT alert_id, version FROM dossier.alerts FINAL"))
    assert set(written) <= on_topic  # what the crash left written was sent by the rerun
    assert {(a, v) for a, v in stored if v % 2} <= on_topic  # every standing alert's emission
    assert query(store, "SELECT count() FROM dossier.outbox FINAL WHERE channel = 'topic' "
                        "AND status != 'delivered'") == [(0,)]


@pytest.mark.parametrize("answer", ["451 4.3.0 try again later", "250 OK"])
def test_a_kill_when_the_mail_server_receives_the_first_letter_then_a_restart_mails_each_letter_once(
        tmp_path: Path, answer: str):
    """451: the letter was not accepted, the restart sends it (once). 250: the server accepted it
    but the worker died before marking it: the restart sends the same letter, same Message-ID."""
    store, log = tmp_path / "store", tmp_path / "worker.log"
    dossiers = [f"{TAN_BIEN}-240304-000{i}" for i in range(1, 4)]
    target: dict[str, subprocess.Popen[bytes]] = {}
    killed = threading.Event()

    def respond(n: int, mail: Mail) -> str:
        if not killed.is_set():
            os.kill(target["worker"].pid, signal.SIGKILL)
            killed.set()
            return answer
        return "250 OK"

    with EmbeddedBroker() as broker, Mailbox(respond) as box, open(log, "ab") as out:
        settings = Settings()
        ensure_topics(broker.bootstrap, settings)
        produce(broker.bootstrap, settings.events_topic,
                [received(d, TAN_BIEN, "2024-03-04T09:00:00+07:00") for d in dossiers])

        def worker(clock_start: str) -> subprocess.Popen[bytes]:
            env = cli_env(store, DOSSIER_BROKER=broker.bootstrap, DOSSIER_LIVE_CLOCK_START=clock_start,
                          DOSSIER_SMTP_HOST="127.0.0.1", DOSSIER_SMTP_PORT=str(box.port), DOSSIER_SMTP_SECURITY="none",
                          DOSSIER_MAIL_RECIPIENTS=str(recipients_file(tmp_path)), DOSSIER_MAIL_BATCH_S="0.5",
                          DOSSIER_TICK_S="0.05")
            return subprocess.Popen([DOSSIER_STREAM, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)

        # The breaches come due at 00:00 on Fri 15/03, right after the worker has caught up.
        target["worker"] = worker("2024-03-14T23:59:58+07:00")
        assert target["worker"].wait(timeout=90) == -signal.SIGKILL, log.read_text()[-3000:]
        restarted = worker("2024-03-15T00:01:00+07:00")
        deadline = time.monotonic() + 60
        while len(box.accepted()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # a few more rounds: nothing else may come
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=60) == 0, log.read_text()[-3000:]

    first, accepted = box.mails[0], box.accepted()
    if answer.startswith("451"):
        assert sorted(m.recipients for m in accepted) == [("cn.tanbien@example.vn",), ("to-cong-tac@example.vn",)]
    else:  # the one repeat: the letter the dead worker had not marked
        assert sorted(m.recipients for m in accepted) == sorted(
            [("cn.tanbien@example.vn",), ("to-cong-tac@example.vn",), first.recipients])
    assert [m.subject for m in accepted if m.recipients == ("cn.tanbien@example.vn",)][0] == (
        "[Cảnh báo hồ sơ] Chi nhánh huyện Tân Biên: 3 quá hạn xử lý")
    again = [m for m in box.mails[1:] if m.message_id == first.message_id]
    assert len(again) == 1 and again[0].text() == first.text()  # the same letter, the same Message-ID
    assert query(store, "SELECT count() FROM dossier.outbox FINAL WHERE channel = 'mail' "
                        "AND status != 'delivered'") == [(0,)]
