"""The drill of issue 22, as docs/alerts.md tells a user to run it: the demo's data, then a
live worker on a drill clock delivers the morning digest and a breach e-mail to a branch's
address on a local SMTP server."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.reliability.helpers import DOSSIER_STREAM, Mailbox, cli_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
TAN_BIEN = ("cn.tanbien@stnmt.example.gov.vn", "giamdoc.cn.tanbien@stnmt.example.gov.vn")


@pytest.mark.timeout(600)
def test_a_drill_on_the_demos_data_mails_the_morning_digest_and_a_breach_to_a_branch(tmp_path: Path):
    events, store, log = tmp_path / "province.jsonl", tmp_path / "store", tmp_path / "drill.log"
    env = cli_env(store)
    with open(log, "ab") as out:
        for args in (["generate", "--out", str(events), "--months", "2", "--seed", "1", "--dossiers-per-month", "3000",
                      "--start", "2023-10-01"], ["run", "--events", str(events), "--no-progress"]):
            assert subprocess.run([DOSSIER_STREAM, *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=300).returncode == 0, log.read_text()[-3000:]
        with Mailbox() as box:
            worker = subprocess.Popen([DOSSIER_STREAM, "worker"], stdout=out, stderr=subprocess.STDOUT, env=cli_env(
                store, DOSSIER_SMTP_HOST="127.0.0.1", DOSSIER_SMTP_PORT=str(box.port), DOSSIER_SMTP_SECURITY="none",
                DOSSIER_MAIL_RECIPIENTS=str(ROOT / "docs" / "recipients.example.toml"), DOSSIER_MAIL_BATCH_S="5",
                DOSSIER_LIVE_CLOCK_START="2023-12-01T06:59:45+07:00"))

            def branch_letters() -> dict[str, object]:
                return {m.subject.split("]")[0] + "]": m for m in box.accepted() if m.recipients == TAN_BIEN}

            deadline = time.monotonic() + 180
            while len(branch_letters()) < 2 and time.monotonic() < deadline and worker.poll() is None:
                time.sleep(0.5)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, log.read_text()[-3000:]
    letters = branch_letters()
    assert sorted(letters) == ["[Cảnh báo hồ sơ]", "[Tổng hợp đầu ngày 01/12/2023]"], log.read_text()[-3000:]
    breach, digest = letters["[Cảnh báo hồ sơ]"], letters["[Tổng hợp đầu ngày 01/12/2023]"]
    assert breach.subject == "[Cảnh báo hồ sơ] Chi nhánh huyện Tân Biên: 1 quá hạn xử lý"  # type: ignore[attr-defined]
    assert "1. Quá hạn xử lý — hồ sơ 004.22.31.H53-231114-0010" in breach.text()  # type: ignore[attr-defined]
    assert digest.subject == (  # type: ignore[attr-defined]
        "[Tổng hợp đầu ngày 01/12/2023] Chi nhánh huyện Tân Biên: 4 đến hạn hôm nay, 7 quá hạn")
    text = digest.text()  # type: ignore[attr-defined]
    assert "Tình hình hồ sơ đầu ngày Thứ Sáu, 01/12/2023:" in text
    assert "1. 004.22.31.H53-231121-0002 — Đăng ký biến động" in text
    assert "http://127.0.0.1:6066/#ho-so=004.22.31.H53-231121-0002" in text
