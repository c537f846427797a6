"""Helpers for the reliability tests: table snapshots, the CLI as a subprocess, a webhook receiver."""

from __future__ import annotations

import base64
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from stream_app.store.client import connect
from tests.integration.helpers import TABLES as CORE_TABLES
from tests.integration.helpers import WALL_CLOCK, query, snapshot

ANALYTICS = ("unit_daily", "monthly_report")  # views of migration 002, when present
DOSSIER_STREAM = str(Path(sys.executable).parent / "dossier-stream")
# A Standard Webhooks secret: whsec_ + base64 of the key.
SECRET = "whsec_" + base64.b64encode(b"reliability-webhook-secret").decode()


def tables(store: Path, database: str = "dossier") -> dict[str, list[tuple[Any, ...]]]:
    """The logical rows (FINAL) of the core tables and the analytics views, wall-clock
    columns left out, sorted; a view missing from the store is left out."""
    return snapshot(store, database, views=ANALYTICS)


def dump(store: Path, database: str = "dossier", without: tuple[str, str] | None = None) -> str:
    """Every row of every table and view in the database as one string (for grepping),
    `without` one (table, column)."""
    client = connect(f"chdb://{store}")
    try:
        names = [r[0] for r in client.query(
            "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
            parameters={"db": database}).result_rows]
        parts = []
        for name in names:
            q = client.query(f"SELECT * FROM {database}.{name}")
            keep = [i for i, c in enumerate(q.column_names) if (name, c) != without]
            parts.append(f"## {name}\n" + "\n".join(str([r[i] for i in keep]) for r in q.result_rows))
        return "\n".join(parts)
    finally:
        client.close()


# ------------------------------------------------------------------ the CLI


def cli_env(store: Path, **extra: str) -> dict[str, str]:
    """A clean environment for `dossier-stream`: JSON logs, this store, nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")}
    env.update({"DOSSIER_CLICKHOUSE": f"chdb://{store}", "DOSSIER_LOG_FORMAT": "json", **extra})
    return env


def start_run(events: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as f:
        return subprocess.Popen([DOSSIER_STREAM, "run", "--events", str(events), "--no-progress"],
                                env=env, stdout=f, stderr=subprocess.STDOUT)


def children(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    out: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    for task in task_dir.iterdir() if task_dir.exists() else []:
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as dead)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def kill9(proc: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL the process; return the pids of the children it had (the embedded broker)."""
    kids = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return kids


def wait_dead(pids: list[int], timeout: float = 5.0) -> list[int]:
    """The pids still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


# ------------------------------------------------------------------ webhooks


@dataclass(frozen=True)
class Post:
    path: str
    key: str  # webhook-id (the Idempotency-Key too)
    body: bytes
    signature: str | None  # the earlier releases' X-Dossier-Signature, if sent
    status: int
    headers: tuple[tuple[str, str], ...] = ()

    def verified(self, secret: str = SECRET) -> bool:
        """Does the Standard Webhooks library accept it (signature, and a timestamp within 5 minutes)?"""
        try:
            Webhook(secret).verify(self.body, dict(self.headers))
            return True
        except WebhookVerificationError:
            return False


class Receiver:
    """A real HTTP endpoint in a thread that records every POST it gets.

    `respond(n, post)` may choose the status of the n-th POST (from 1) and act
    first (for example kill the worker): default 200.
    """

    def __init__(self, respond: Callable[[int, Post], int] | None = None) -> None:
        self.posts: list[Post] = []
        self.respond = respond
        self.location: str | None = None  # where a 3xx answer points
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                post = Post(self.path, self.headers.get("webhook-id", ""), body,
                            self.headers.get("X-Dossier-Signature"), 200, tuple(self.headers.items()))
                with receiver._lock:
                    n = len(receiver.posts) + 1
                    status = receiver.respond(n, post) if receiver.respond else 200
                    receiver.posts.append(Post(post.path, post.key, body, post.signature, status, post.headers))
                self.send_response(status)
                if 300 <= status < 400 and receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 256  # the default 5 drops connections under a burst of alerts

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delivered(self) -> dict[str, int]:
        """Idempotency-Key -> POSTs answered 2xx (what the receiver accepted)."""
        with self._lock:
            counts: dict[str, int] = {}
            for p in self.posts:
                if p.status < 300:
                    counts[p.key] = counts.get(p.key, 0) + 1
            return counts

    def signed(self, secret: str = SECRET) -> bool:
        """Every POST verified by the Standard Webhooks library, as a receiver would."""
        with self._lock:
            return all(p.verified(secret) for p in self.posts)


# ------------------------------------------------------------------ e-mail


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]
    message: Any  # email.message.EmailMessage
    status: str  # what the server answered

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that records every message it is given.

    `respond(n, mail)` may choose the answer to the n-th message (from 1) and act first
    (for example kill the worker): default "250 OK". `stop()`/`start()` take the server
    away and bring it back on the same port (a mail server that is down)."""

    def __init__(self, respond: Callable[[int, Mail], str] | None = None,
                 login: tuple[str, str] | None = None, tls: Any = None, implicit_tls: bool = False) -> None:
        from stream_app.kafka.broker import free_port

        self.mails: list[Mail] = []
        self.respond = respond
        self.login = login  # (user, password) the server requires (AUTH over plain loopback)
        self.tls = tls  # an ssl.SSLContext: STARTTLS required, or TLS from the first byte (implicit_tls)
        self.implicit_tls = implicit_tls
        self.port = free_port()
        self._lock = threading.Lock()
        self._controller: Any = None

    def _handler(self) -> Any:
        import email
        import email.policy

        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
                msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
                mail = Mail(envelope.mail_from, tuple(envelope.rcpt_tos), msg, "250 OK")
                with box._lock:
                    n = len(box.mails) + 1
                    status = box.respond(n, mail) if box.respond else "250 OK"
                    box.mails.append(Mail(mail.sender, mail.recipients, msg, status))
                return status

        return Handler()

    def start(self) -> "Mailbox":
        from aiosmtpd.controller import Controller

        kw: dict[str, Any] = {}
        if self.login is not None:
            from aiosmtpd.smtp import AuthResult

            wanted = (self.login[0].encode(), self.login[1].encode())

            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
                return AuthResult(success=(data.login, data.password) == wanted)

            kw = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")  # loopback, on purpose
        if self.tls is not None:
            kw.update({"ssl_context": self.tls} if self.implicit_tls else {"tls_context": self.tls,
                                                                            "require_starttls": True})
        self._controller = Controller(self._handler(), hostname="127.0.0.1", port=self.port, **kw)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "Mailbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def accepted(self) -> list[Mail]:
        with self._lock:
            return [m for m in self.mails if m.status.startswith("250")]
