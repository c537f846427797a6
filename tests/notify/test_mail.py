"""Alert e-mail against a real SMTP server on loopback (aiosmtpd): recipients per unit,
the letters' content in Vietnamese, one letter per unit's minute, a server that is down
delays and never loses (issue 22, items 1 and 4)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.notify.digest import for_group
from stream_app.notify.letters import Letters
from stream_app.notify.mail import MailNotifier, SmtpClient, SmtpServer
from stream_app.notify.recipients import TASK_FORCE, Recipients
from tests.notify.test_webhooks import BREACH
from tests.reliability.helpers import Mailbox

DIRECTORY = Directory.load(Catalog.load())
TAN_BIEN, OFFICE = "004.22.31.H53", "000.22.31.H53"
RECIPIENTS_TOML = f'''
task_force = ["to-cong-tac@stnmt.example.vn"]
[units]
"{TAN_BIEN}" = ["cn.tanbien@example.vn", "giamdoc.tanbien@example.vn"]
"{OFFICE}" = "vpdk@example.vn"
'''
NOW = datetime(2023, 12, 1, 0, 1, tzinfo=timezone.utc)


def recipients(tmp_path: Path, text: str = RECIPIENTS_TOML) -> Recipients:
    path = tmp_path / "recipients.toml"
    path.write_text(text, encoding="utf-8")
    return Recipients.load(path)


def notifier(box: Mailbox, rec: Recipients, batch_s: float = 60.0) -> MailNotifier:
    server = SmtpServer("127.0.0.1", box.port, "none", timeout_s=5)
    return MailNotifier(SmtpClient(server), rec, Letters(DIRECTORY, "https://giamsat.example.vn", "canhbao@example.vn"),
                        batch_s=batch_s, now=lambda: NOW)


def test_an_alert_goes_to_the_unit_that_received_it_the_one_holding_it_and_the_task_force(tmp_path: Path):
    rec = recipients(tmp_path)
    assert rec.groups(BREACH) == [TAN_BIEN, TASK_FORCE]
    assert rec.groups({**BREACH, "unit": OFFICE}) == [TAN_BIEN, OFFICE, TASK_FORCE]
    assert rec.addresses(OFFICE) == ("vpdk@example.vn",)


def test_a_recipients_file_with_a_bad_address_names_the_entry_never_the_address(tmp_path: Path):
    with pytest.raises(ValueError, match=r"units\.004\.22\.31\.H53\[1\] is not an e-mail address") as err:
        recipients(tmp_path, f'[units]\n"{TAN_BIEN}" = ["ok@example.vn", "Nguyen Van A <no"]\n')
    assert "Nguyen" not in str(err.value)


def test_only_breaches_tax_overdue_and_late_extensions_are_mailed_at_once(tmp_path: Path):
    n = notifier(Mailbox(), recipients(tmp_path))
    kinds = ["sla_breach", "tax_overdue", "late_extension", "sla_warning", "open_after_completion", "missing_result"]
    mailed = n.deliveries([{**BREACH, "alert_id": k, "kind": k} for k in kinds])
    assert sorted({d.alert_id for d in mailed}) == ["late_extension", "sla_breach", "tax_overdue"]
    assert all(d.batch == "" for d in mailed)  # each waits for its unit's minute


def test_a_units_alerts_wait_its_minute_then_go_as_one_letter(tmp_path: Path):
    n = notifier(Mailbox(), recipients(tmp_path))
    at = NOW - timedelta(seconds=30)
    waiting = [(d, at) for d in n.deliveries([BREACH, {**BREACH, "alert_id": "a2"}])]
    assert n.digests(waiting, NOW) == []
    ready = n.digests(waiting, NOW + timedelta(seconds=31))
    assert [(b.endpoint, len(b.deliveries)) for b in ready] == [(TAN_BIEN, 2), (TASK_FORCE, 2)]
    again = n.digests(list(reversed(waiting)), NOW + timedelta(seconds=31))
    assert [b.batch_id for b in again] == [b.batch_id for b in ready]  # its id: what it carries


def test_a_letter_names_each_dossier_its_procedure_holder_due_time_and_timeline_link(tmp_path: Path):
    with Mailbox() as box:
        n = notifier(box, recipients(tmp_path), batch_s=0)
        retracted = {**BREACH, "alert_id": "a0", "dossier_id": "004.22.31.H53-231020-0007", "retracted": True,
                     "version": 2}
        (letter, _) = n.digests([(d, NOW) for d in n.deliveries([BREACH, retracted])], NOW)
        outcomes = asyncio.run(n.send([letter]))
    (mail,) = box.accepted()
    assert [o.ok for o in outcomes] == [True, True]
    assert sorted(mail.recipients) == ["cn.tanbien@example.vn", "giamdoc.tanbien@example.vn"]
    assert mail.subject == "[Cảnh báo hồ sơ] Chi nhánh huyện Tân Biên: 1 quá hạn xử lý, 1 rút lại quá hạn xử lý"
    assert mail.message_id == f"<{letter.batch_id}@example.vn>"
    text = mail.text()
    assert "Kính gửi Chi nhánh Văn phòng Đăng ký đất đai huyện Tân Biên," in text
    assert "1. ĐÃ RÚT LẠI — Quá hạn xử lý — hồ sơ 004.22.31.H53-231020-0007" in text
    assert "cảnh báo đã gửi trước đây không còn đúng" in text
    assert "2. Quá hạn xử lý — hồ sơ 004.22.31.H53-231020-0012" in text
    assert "Thủ tục: Đăng ký biến động: chuyển nhượng, thừa kế, tặng cho, góp vốn quyền sử dụng đất" in text
    assert "Đang ở: Chi nhánh Văn phòng Đăng ký đất đai huyện Tân Biên" in text
    assert "Hạn xử lý: 17:00 30/11/2023" in text
    assert "Xem tiến trình: https://giamsat.example.vn/#ho-so=004.22.31.H53-231020-0012" in text
    assert 'href="https://giamsat.example.vn/#ho-so=004.22.31.H53-231020-0012"' in mail.html()
    assert mail.message["Auto-Submitted"] == "auto-generated"


def test_a_mail_server_that_is_down_delays_the_letter_and_loses_nothing(tmp_path: Path):
    box = Mailbox()  # not started: nothing listens on its port
    n = notifier(box, recipients(tmp_path), batch_s=0)
    letters = n.digests([(d, NOW) for d in n.deliveries([BREACH])], NOW)
    assert asyncio.run(n.send(letters)) == []  # no outcome: the letters stay in the outbox
    assert asyncio.run(n.send(letters)) == []  # backing off: not even tried
    n._retry_at = 0.0  # the backoff has passed
    with box:
        outcomes = asyncio.run(n.send(letters))
    assert [o.ok for o in outcomes] == [True, True]
    assert sorted(m.message_id for m in box.accepted()) == sorted(f"<{b.batch_id}@example.vn>" for b in letters)


def test_a_message_the_server_refuses_for_good_is_marked_failed(tmp_path: Path):
    with Mailbox(lambda n, mail: "554 5.7.1 rejected") as box:
        n = notifier(box, recipients(tmp_path), batch_s=0)
        outcomes = asyncio.run(n.send(n.digests([(d, NOW) for d in n.deliveries([BREACH])], NOW)))
    assert [o.ok for o in outcomes] == [False, False]


def test_the_morning_digest_letter_lists_each_section_with_counts_and_links():
    row = {"dossier_id": "004.22.31.H53-231120-0001", "procedure_code": "1.012713", "receiving_unit": TAN_BIEN,
           "current_unit": TAN_BIEN, "due_at": datetime(2023, 12, 1, 16, 0, tzinfo=timezone(timedelta(hours=7)))}
    other = {**row, "dossier_id": "001.22.31.H53-231101-0002", "receiving_unit": "001.22.31.H53",
             "current_unit": "001.22.31.H53"}
    rows = {"due_today": [row, other], "warned": [], "overdue": [other], "open_after_completion": [],
            "missing_result": []}
    figures = for_group(rows, TAN_BIEN, date(2023, 12, 1), NOW)
    assert {s: v["count"] for s, v in figures["sections"].items()} == {
        "due_today": 1, "warned": 0, "overdue": 0, "open_after_completion": 0, "missing_result": 0}
    letters = Letters(DIRECTORY, "https://giamsat.example.vn", "canhbao@example.vn")
    msg = letters.digest_letter("morning-2023-12-01-x", TAN_BIEN, ["cn.tanbien@example.vn"], figures, NOW)
    assert msg["Subject"] == "[Tổng hợp đầu ngày 01/12/2023] Chi nhánh huyện Tân Biên: 1 đến hạn hôm nay, 0 quá hạn"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Tình hình hồ sơ đầu ngày Thứ Sáu, 01/12/2023:" in text
    assert "- Đến hạn trả kết quả hôm nay: 1" in text
    assert ("1. 004.22.31.H53-231120-0001 — Cấp đổi Giấy chứng nhận — đang ở Chi nhánh huyện Tân Biên — "
            "hạn 16:00 01/12/2023") in text
    assert "https://giamsat.example.vn/#ho-so=004.22.31.H53-231120-0001" in text
    assert "001.22.31.H53-231101-0002" not in text  # another unit's dossier
    force = for_group(rows, TASK_FORCE, date(2023, 12, 1), NOW)
    assert force["by_unit"] == {
        "001.22.31.H53": {"due_today": 1, "warned": 0, "overdue": 1, "open_after_completion": 0, "missing_result": 0},
        TAN_BIEN: {"due_today": 1, "warned": 0, "overdue": 0, "open_after_completion": 0, "missing_result": 0}}


def test_a_login_the_server_refuses_delays_the_letter_and_the_password_reaches_no_log(tmp_path: Path):
    from pydantic import SecretStr
    from structlog.testing import capture_logs

    rec = recipients(tmp_path)
    with Mailbox(login=("canhbao", "MailPassw0rd")) as box:
        def client(password: str) -> MailNotifier:
            server = SmtpServer("127.0.0.1", box.port, "none", "canhbao", SecretStr(password), timeout_s=5)
            return MailNotifier(SmtpClient(server), rec, Letters(DIRECTORY, "https://giamsat.example.vn",
                                                                 "canhbao@example.vn"), batch_s=0, now=lambda: NOW)

        wrong = client("WrongPassw0rd")
        with capture_logs() as logs:
            letters = wrong.digests([(d, NOW) for d in wrong.deliveries([BREACH])], NOW)
            assert asyncio.run(wrong.send(letters)) == []
        right = client("MailPassw0rd")
        assert [o.ok for o in asyncio.run(right.send(letters))] == [True, True]
    assert [e["event"] for e in logs] == ["mail.outage"]
    assert "Passw0rd" not in repr(logs) and "Passw0rd" not in repr(wrong.client.server)
    assert len(box.accepted()) == 2


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (a province's own CA, as far as the client knows)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")], check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_letter_goes_over_tls_checked_against_the_configured_ca(tmp_path: Path, certificate: tuple[Path, Path],
                                                                  security: str):
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    rec = recipients(tmp_path)
    with Mailbox(tls=context, implicit_tls=security == "ssl") as box:
        def client(cafile: Path | None) -> MailNotifier:
            server = SmtpServer("127.0.0.1", box.port, security, timeout_s=5, cafile=cafile)
            return MailNotifier(SmtpClient(server), rec, Letters(DIRECTORY, "https://giamsat.example.vn",
                                                                 "canhbao@example.vn"), batch_s=0, now=lambda: NOW)

        untrusted = client(None)  # the system's CAs do not know the province's certificate
        letters = untrusted.digests([(d, NOW) for d in untrusted.deliveries([BREACH])], NOW)
        assert asyncio.run(untrusted.send(letters)) == []
        assert [o.ok for o in asyncio.run(client(cert).send(letters))] == [True, True]
    assert len(box.accepted()) == 2
