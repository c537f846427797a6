"""Privacy and secrets (issue 7, item 6).

Fields outside the contract are never stored or logged; passwords in DSNs and SASL
settings never appear in logs or error messages; webhooks are signed and go only to
the configured URLs; SQL takes values only as parameters.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import subprocess
from pathlib import Path

import orjson
import pytest

from stream_app.core.ports import Delivery
from stream_app.kafka.broker import free_port
from stream_app.kafka.security import client_config as kafka_client_config
from stream_app.logs import Repeats, scrub, scrub_secrets
from stream_app.notify.webhooks import WebhookNotifier, endpoint_id
from stream_app.settings import Settings
from stream_app.store.client import redact
from tests.reliability.conftest import CleanRun
from tests.reliability.helpers import (
    DOSSIER_STREAM,
    SECRET,
    Receiver,
    cli_env,
    dump,
    query,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_FIELDS = {
    "event_id", "event_type", "dossier_id", "occurred_at", "agency_code", "schema_version", "procedure_code",
    "channel", "source_due_at", "to_unit", "tax_office", "new_due_at", "outcome", "document_ref", "signed",
}


def personal_values(path: Path) -> tuple[set[str], set[str]]:
    """Values of fields outside the contract: (in lines that parse, in lines that do not)."""
    valid, broken = set(), set()
    for line in path.read_bytes().splitlines():
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            broken |= {m.decode() for m in re.findall(rb'"(?:applicant_name|phone|id_number)":"([^"]+)"', line)}
            continue
        if isinstance(obj, dict):
            valid |= {str(v) for k, v in obj.items() if k not in CONTRACT_FIELDS and isinstance(v, str | int)}
    return valid, broken


@pytest.mark.integration
def test_fields_outside_the_contract_are_never_stored_nor_logged(clean: CleanRun):
    valid, broken = personal_values(clean.events)
    assert len(valid) > 20 and any(v.isdigit() and len(v) == 12 for v in valid)  # names, phones, ID numbers
    outside_raw = dump(clean.store, without=("dead_letters", "raw"))
    raws = "\n".join(r[0] for r in query(clean.store, "SELECT raw FROM dossier.dead_letters"))
    assert [v for v in valid | broken if v in outside_raw] == []
    assert [v for v in valid | broken if v in clean.log] == []
    # The contract keeps a dead letter's raw bytes (to repair and replay it), so the
    # values of a line that is not valid JSON stay there, and only there.
    assert [v for v in valid - broken if v in raws] == []


def test_settings_never_show_a_secret():
    s = Settings(clickhouse="http://alice:ChPassw0rd@clickhouse:8123/dossier", sasl_mechanism="PLAIN",
                 security_protocol="SASL_SSL", sasl_username="alice", sasl_password="SaslPassw0rd",
                 webhook_secret="HookS3cret", smtp_host="mail", smtp_password="MailPassw0rd")
    for text in (repr(s), str(s), s.model_dump_json(), repr(s.model_dump())):
        assert "Passw0rd" not in text and "HookS3cret" not in text
    assert kafka_client_config(s)["sasl_plain_password"] == "SaslPassw0rd"  # given to the client, nowhere else
    assert kafka_client_config(s)["security_protocol"] == "SASL_SSL"


@pytest.mark.parametrize("dsn, shown", [
    ("http://alice:Pw%40rd@ch:8123/dossier", "http://alice:***@ch:8123/dossier"),
    ("https://:Pw@ch/dossier?password=Pw2&secure=1", "https://:***@ch/dossier?password=***&secure=1"),
    ("chdb:///var/clickhouse", "chdb:///var/clickhouse"),
    ("http://ch:8123/dossier", "http://ch:8123/dossier"),
])
def test_redact_masks_every_password_in_a_dsn(dsn: str, shown: str):
    assert redact(dsn) == shown


def test_every_log_line_is_scrubbed_of_url_and_parameter_passwords():
    event = scrub_secrets(None, "error", {"event": "x", "detail": "at kafka://u:Pw1@h:9092 password=Pw2",
                                          "error": ValueError("http://u:Pw3@h")})
    assert "Pw1" not in repr(event) and "Pw2" not in repr(event) and "Pw3" not in repr(event)
    assert scrub("sasl_plain_password='Pw4' user=u") == "sasl_plain_password='***' user=u"


def test_a_library_message_repeated_while_a_broker_is_down_is_logged_once_a_minute():
    import logging

    f = Repeats(every_s=60)
    rec = [logging.LogRecord("aiokafka", logging.ERROR, "x", 1, "Unable connect to node %s", (i,), None)
           for i in range(100)]
    assert sum(f.filter(r) for r in rec) == 1


@pytest.mark.integration
def test_a_clickhouse_password_never_reaches_the_error_message(province: Path, tmp_path: Path):
    port = free_port()
    dsn = f"http://alice:ChPassw0rd@127.0.0.1:{port}/dossier?password=AlsoSecret"
    env = cli_env(tmp_path / "unused", DOSSIER_CLICKHOUSE=dsn, DOSSIER_WEBHOOK_SECRET="HookS3cret",
                  DOSSIER_SASL_PASSWORD="SaslPassw0rd")
    done = subprocess.run([DOSSIER_STREAM, "run", "--events", str(province), "--no-progress"],
                          env=env, capture_output=True, timeout=120)
    out = (done.stdout + done.stderr).decode()
    assert done.returncode == 2, out[-2000:]
    failed = [json.loads(line) for line in out.splitlines() if '"command.failed"' in line]
    assert failed[0]["detail"].startswith(
        f"cannot reach ClickHouse at http://alice:***@127.0.0.1:{port}/dossier?password=***")
    for secret in ("ChPassw0rd", "AlsoSecret", "HookS3cret", "SaslPassw0rd"):
        assert secret not in out


@pytest.mark.slow
@pytest.mark.integration
def test_wrong_sasl_settings_are_a_clear_error_without_the_password(province: Path, tmp_path: Path):
    env = cli_env(tmp_path / "store", DOSSIER_SECURITY_PROTOCOL="SASL_PLAINTEXT", DOSSIER_SASL_MECHANISM="PLAIN",
                  DOSSIER_SASL_USERNAME="alice", DOSSIER_SASL_PASSWORD="SaslPassw0rd")
    done = subprocess.run([DOSSIER_STREAM, "run", "--events", str(province), "--no-progress"],
                          env=env, capture_output=True, timeout=180)
    out = (done.stdout + done.stderr).decode()
    assert done.returncode == 2, out[-2000:]
    assert "sasl_mechanism=PLAIN" in out and "DOSSIER_SASL_" in out
    assert "SaslPassw0rd" not in out and "Traceback" not in out


def test_webhooks_are_signed_and_go_only_to_configured_urls_never_through_a_redirect():
    alerts = [{"alert_id": "a1", "kind": "sla_breach", "dossier_id": "D1", "retracted": False},
              {"alert_id": "a1", "kind": "sla_breach", "dossier_id": "D1", "retracted": True}]
    with Receiver() as elsewhere, Receiver() as good, \
            Receiver(lambda n, post: 307) as redirecting:
        redirecting.location = elsewhere.url
        notifier = WebhookNotifier([good.url, redirecting.url], SECRET, attempts=2)
        outcomes = asyncio.run(notifier.deliver(alerts))
        stray = Delivery("a2", endpoint_id(elsewhere.url), "a2", b"{}")  # no longer configured
        assert asyncio.run(notifier.post([stray])) == []
    assert good.delivered() == {"a1": 1, "a1:retracted": 1}
    assert good.signed()
    assert redirecting.signed()
    assert elsewhere.posts == []
    assert sorted(o.ok for o in outcomes) == [False, False, True, True]


PRODUCT = ("stream_app",)
SQL_CALLS = {"query", "command", "insert", "raw_query", "query_df", "query_arrow", "_scalar", "_rows"}
IDENTIFIERS = {"db", "database", "other", "new", "name", "table", "t", "cols", "final", "where", "counts",
               "self.db", "self.table", "self.database",
               "visible"}  # web/queries._visible: a fixed condition whose units travel as a parameter


def _identifier_like(expr: ast.expr) -> bool:
    """An interpolation that can only be a name or a fragment the code built, never a value."""
    text = ast.unparse(expr)
    if text in IDENTIFIERS or re.fullmatch(r"_?[A-Z][A-Z0-9_]*", text):
        return True
    if isinstance(expr, ast.Call):
        fn = ast.unparse(expr.func)
        if fn in ("check_identifier", "int", "_condition"):
            return True
        if fn.endswith(".join") and all(re.fullmatch(r"_?[A-Z][A-Z0-9_]*", ast.unparse(a)) for a in expr.args):
            return True
    return False


def test_sql_takes_values_only_as_parameters():
    """Every f-string passed to a ClickHouse call interpolates only identifiers."""
    offenders = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if fn not in SQL_CALLS:
                    continue
                for arg in ast.walk(node):
                    if isinstance(arg, ast.JoinedStr):
                        offenders += [f"{path.relative_to(ROOT)}:{arg.lineno}: {{{ast.unparse(v.value)}}}"
                                      for v in arg.values
                                      if isinstance(v, ast.FormattedValue) and not _identifier_like(v.value)]
    assert offenders == []
