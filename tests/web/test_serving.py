"""`dossier-stream worker` serving the page, as a subprocess: it refuses to answer beyond
loopback with nobody to sign in, and its log names who signed in or was refused, never a
password, a hash or a token."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from stream_app.access.users import UserFile
from tests.reliability.helpers import DOSSIER_STREAM, cli_env
from tests.web.conftest import SESSION_SECRET, USERS, Client, copy_store, free_port

pytestmark = pytest.mark.integration


def up(url: str) -> bool:
    try:
        return Client(url).get("/login")[0] == 200
    except OSError:
        return False


def test_a_worker_serving_the_page_beyond_loopback_with_nobody_to_sign_in_refuses_to_start(tmp_path: Path):
    env = cli_env(tmp_path / "store", DOSSIER_WEB_ENABLED="true", DOSSIER_WEB_BIND="0.0.0.0",
                  DOSSIER_WEB_PORT=str(free_port()), DOSSIER_USERS=str(tmp_path / "users.json"))
    done = subprocess.run([DOSSIER_STREAM, "worker"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    failed = [json.loads(line) for line in done.stderr.splitlines() if '"command.failed"' in line]
    assert [(e["error"], e["detail"]) for e in failed] == [("Unprotected", (
        "the live page would listen on 0.0.0.0 (DOSSIER_WEB_BIND) and nobody can sign in: add the first user "
        f"with `dossier-stream users add NAME --all` (user file {tmp_path / 'users.json'}, DOSSIER_USERS), "
        "or serve it on 127.0.0.1"))]
    assert "Traceback" not in done.stderr


def test_the_log_names_sign_ins_and_refusals_but_never_a_password_hash_or_token(
    crafted_store: Path, users_file: Path, tmp_path: Path,
):
    store = copy_store(crafted_store, tmp_path / "store")
    users = Path(tmp_path / "users.json")
    users.write_bytes(users_file.read_bytes())
    token = UserFile(users).issue_token("tayninh")
    port = free_port()
    log = tmp_path / "worker.log"
    env = cli_env(store, DOSSIER_WEB_ENABLED="true", DOSSIER_WEB_PORT=str(port), DOSSIER_USERS=str(users),
                  DOSSIER_SESSION_SECRET=SESSION_SECRET, DOSSIER_LIVE_CLOCK_START="2023-11-30T18:00:00+07:00",
                  DOSSIER_LOGIN_FAILURES_PER_USER="2")
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        worker = subprocess.Popen([DOSSIER_STREAM, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not up(url):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        client = Client(url)
        assert client.sign_in("totrinh")[0] == 303
        assert client.request("POST", "/logout", {"csrf_token": client.csrf})[0] == 303
        assert Client(url).sign_in("tayninh", USERS["totrinh"][1])[0] == 401  # another's password
        assert Client(url).sign_in("tayninh", USERS["vanphong"][1])[0] == 401
        assert Client(url).sign_in("tayninh")[0] == 429
        assert Client(url).sign_in(USERS["hoathanh"][1], USERS["hoathanh"][1])[0] == 401  # a password as the name
        assert Client(url).request("GET", "/api/live", headers={"Authorization": f"Bearer {token}"})[0] == 200
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    text = log.read_text()
    secrets = [p for _, p in USERS.values()] + [token, "$argon2"]
    secrets += [r["password"] for r in json.loads(users.read_text())["users"].values()]
    assert [s for s in secrets if s in text] == []
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    auth = [(e["event"], e.get("user"), e.get("reason")) for e in events if e["event"].startswith("auth.")]
    assert auth == [
        ("auth.signed_in", "totrinh", None),
        ("auth.signed_out", "totrinh", None),
        ("auth.refused", "tayninh", "wrong_password"),
        ("auth.refused", "tayninh", "wrong_password"),
        ("auth.refused", "tayninh", "rate_limited"),
        ("auth.refused", "<unknown>", "unknown_user"),
    ]
    assert {e["address"] for e in events if e["event"].startswith("auth.")} == {"127.0.0.1"}
