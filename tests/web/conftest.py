"""Fixtures for the live page: a crafted province replayed into a real chDB store, and
a real live worker (embedded broker, Faust, web server) serving it from a thread.

The crafted file, at AS_OF = Thu 30/11/2023 18:00 (office hours 07:00-11:30 and
13:30-17:00; no holiday in November 2023). Limits: 1.012713 = 5 working days,
1.012711 = 8 (tax-linked, tax limit 5), so 1 working day = 8 h.

A = 001.22.31.H53
  A1 received Fri 24/11 09:00, due Fri 01/12 09:00: 2 h left → due within one working day
  A2 received Mon 20/11 09:00, due Mon 27/11 09:00, breach at the end of 27/11 → overdue
  A3 received Wed 29/11 09:00, due Wed 06/12 09:00: 26 h left → just open
  A4 received Mon 13/11 (1.012711), sent to tax Tue 14/11 09:00, tax due Tue 21/11 09:00,
     no notice → waiting at tax past its limit (paused, not overdue)
  A5 received Wed 22/11 (1.012711), due Mon 04/12 09:00 (10 h left), result attached Fri
     24/11 10:00, never concluded → left open after completion since Mon 27/11 10:00
  A6 received Mon 20/11 09:30, concluded Mon 27/11 15:00 → on time (chart: 27/11)
  A7 received Mon 13/11 09:00, due 20/11, concluded Mon 27/11 10:00 → overdue (chart: 27/11)
B = 002.22.31.H53
  B1 received Thu 16/11 09:00, due Thu 23/11 09:00 → overdue
  B2 received Fri 24/11 10:00, transferred to the OFFICE Mon 27/11 09:00 (B held it 7 h),
     due Fri 01/12 10:00: 3 h left → due within one working day; the OFFICE holds it 30 h
  B3 received Mon 13/11 09:00, extended Fri 17/11, concluded Tue 28/11 10:00 → overdue (chart)
  B4 received Mon 27/11 09:00, supplement requested Tue 28/11 09:00 → paused, just open
C = 003.22.31.H53
  C1 a dossier written to the store by another worker (a state row this process never
     loads: `active` is false), open and overdue.

The page's users (`USERS`): the task force (`totrinh`, every unit), the branch A
(`tayninh`), the provincial OFFICE (`vanphong`: it sees B2, which B sent there) and a
user of both B and C (`hoathanh`). `Client` is a browser-like HTTP client that keeps
cookies and signs in through the form.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest
from kafka import KafkaProducer

from stream_app.access.users import UserFile
from stream_app.domain.access import Scope
from stream_app.jobs.run import run_file
from stream_app.jobs.stack import kafka_bootstrap
from stream_app.jobs.worker import run_worker
from stream_app.kafka.broker import EmbeddedBroker
from stream_app.settings import Settings
from stream_app.store.client import connect
from stream_app.store.rows import STATE_COLUMNS

A, B, C, OFFICE = "001.22.31.H53", "002.22.31.H53", "003.22.31.H53", "000.22.31.H53"
TAX = "001.53.10.G12"
AS_OF = datetime.fromisoformat("2023-11-30T18:00:00+07:00")


def code(unit: str, n: int) -> str:
    return f"{unit}-2311{n:02d}-0001"


A1, A2, A3, A4, A5, A6, A7 = (code(A, n) for n in (24, 20, 29, 13, 22, 21, 14))
B1, B2, B3, B4 = (code(B, n) for n in (16, 24, 13, 27))
C1 = code(C, 1)

# name -> (units or None for every unit, password)
USERS: dict[str, tuple[tuple[str, ...] | None, str]] = {
    "totrinh": (None, "to-cong-tac-dat-dai-2023"),
    "tayninh": ((A,), "chi-nhanh-tay-ninh-2023"),
    "vanphong": ((OFFICE,), "van-phong-dang-ky-2023"),
    "hoathanh": ((B, C), "hoa-thanh-trang-bang-23"),
}
SESSION_SECRET = "a-test-key-that-is-long-enough-for-sessions"


def write_users(path: Path) -> Path:
    users = UserFile(path)
    for name, (units, password) in USERS.items():
        users.add(name, Scope.everything() if units is None else Scope.of(units), password)
    return path


# dossier -> (event_type, local time "DD HH:MM" in November 2023, unit, own fields)
STORY: list[tuple[str, str, str, str, dict[str, Any]]] = [
    (A1, "received", "24 09:00", A, {"procedure_code": "1.012713", "channel": "direct"}),
    (A2, "received", "20 09:00", A, {"procedure_code": "1.012713", "channel": "online"}),
    (A3, "received", "29 09:00", A, {"procedure_code": "1.012713", "channel": "direct"}),
    (A4, "received", "13 09:00", A, {"procedure_code": "1.012711", "channel": "direct"}),
    (A4, "sent_to_tax", "14 09:00", A, {"tax_office": TAX}),
    (A5, "received", "22 09:00", A, {"procedure_code": "1.012711", "channel": "postal"}),
    (A5, "result_attached", "24 10:00", A, {"document_ref": "KQ-A5", "signed": True}),
    (A6, "received", "20 09:30", A, {"procedure_code": "1.012713", "channel": "direct"}),
    (A6, "result_attached", "27 14:00", A, {"document_ref": "KQ-A6", "signed": True}),
    (A6, "concluded", "27 15:00", A, {"outcome": "approved"}),
    (A7, "received", "13 09:00", A, {"procedure_code": "1.012713", "channel": "direct"}),
    (A7, "result_attached", "27 09:00", A, {"document_ref": "KQ-A7", "signed": True}),
    (A7, "concluded", "27 10:00", A, {"outcome": "approved"}),
    (B1, "received", "16 09:00", B, {"procedure_code": "1.012713", "channel": "direct"}),
    (B2, "received", "24 10:00", B, {"procedure_code": "1.012713", "channel": "online"}),
    (B2, "transferred", "27 09:00", B, {"to_unit": OFFICE}),
    (B3, "received", "13 09:00", B, {"procedure_code": "1.012713", "channel": "direct"}),
    (B3, "extended", "17 09:00", B, {"new_due_at": "2023-11-24T17:00:00+07:00"}),
    (B3, "result_attached", "28 09:00", B, {"document_ref": "KQ-B3", "signed": True}),
    (B3, "concluded", "28 10:00", B, {"outcome": "approved"}),
    (B4, "received", "27 09:00", B, {"procedure_code": "1.012713", "channel": "direct"}),
    (B4, "supplement_requested", "28 09:00", B, {}),
]

# What the page must show at AS_OF, per receiving unit (worked out above).
EXPECTED_UNITS = {
    A: {"open": 5, "due_soon": 1, "overdue": 1, "open_after_completion": 1, "tax_overdue": 1},
    B: {"open": 3, "due_soon": 1, "overdue": 1, "open_after_completion": 0, "tax_overdue": 0},
    C: {"open": 1, "due_soon": 0, "overdue": 1, "open_after_completion": 0, "tax_overdue": 0},
}


def at(when: str) -> str:
    return f"2023-11-{when[:2]}T{when[3:]}:00+07:00"


def event(dossier: str, kind: str, when: str, unit: str, own: dict[str, Any], n: int) -> dict[str, Any]:
    return {"event_id": f"{dossier}:{n}", "event_type": kind, "dossier_id": dossier,
            "occurred_at": at(when) if "T" not in when else when, "agency_code": unit, **own}


def story_events() -> list[dict[str, Any]]:
    seq: dict[str, int] = {}
    out = []
    for dossier, kind, when, unit, own in STORY:
        seq[dossier] = seq.get(dossier, 0) + 1
        out.append(event(dossier, kind, when, unit, own, seq[dossier]))
    return sorted(out, key=lambda e: e["occurred_at"])


def _other_worker_row(store: Path) -> None:
    """A state row as another worker would have written it, for a partition this one never holds."""
    t = lambda s: datetime.fromisoformat(s)  # noqa: E731
    row = dict.fromkeys(STATE_COLUMNS)
    row.update(
        dossier_id=C1, procedure_code="1.012713", procedure_known=True, receiving_unit=C, current_unit=C,
        channel="direct", status="open", received_at=t("2023-11-01T09:00:00+07:00"),
        due_at=t("2023-11-08T09:00:00+07:00"), extensions=0, late_extensions=0, classification="open_overdue",
        supplements=0, unit_hours={}, active=False, version=2, updated_at=AS_OF,
    )
    client = connect(f"chdb://{store}")
    try:
        client.insert("dossier.dossier_state", [[row[c] for c in STATE_COLUMNS]], column_names=list(STATE_COLUMNS))
    finally:
        client.close()


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user file of `USERS` (argon2 takes ~0.2 s a user: written once per session)."""
    return write_users(tmp_path_factory.mktemp("web-users") / "users.json")


@pytest.fixture(scope="session")
def crafted_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The crafted file replayed up to AS_OF into a store, plus another worker's row."""
    root = tmp_path_factory.mktemp("web-crafted")
    path = root / "crafted.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in story_events()))
    store = root / "store"
    s = Settings(clickhouse=f"chdb://{store}")
    with kafka_bootstrap(s) as bootstrap:
        asyncio.run(run_file(s, path, as_of=AS_OF, bootstrap=bootstrap))
    _other_worker_row(store)
    return store


def copy_store(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)  # chDB links tables by relative symlinks
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET with no session."""
    status, headers, body = Client("").request("GET", url)
    return status, headers.get("Content-Type", ""), body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a test sees the 303 and its Location itself


class Client:
    """A browser-like client of the page: keeps its cookies, never follows a redirect."""

    def __init__(self, url: str, address: str | None = None) -> None:
        self.url = url
        # Behind a trusted proxy (the worker trusts 127.0.0.1 when told to), the caller's address.
        self.headers = {"X-Forwarded-For": address} if address else {}
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.csrf: str | None = None

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
        """(status, headers, body)."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={**self.headers, **(headers or {})})
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def get(self, path: str) -> tuple[int, Any, bytes]:
        return self.request("GET", path)

    def get_json(self, path: str, status: int = 200) -> Any:
        got, _, body = self.get(path)
        assert got == status, body
        return orjson.loads(body)

    def form_token(self) -> str:
        """GET /login (which sets the form's cookie) and read its hidden CSRF field."""
        status, _, body = self.get("/login")
        assert status == 200, body
        return re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()

    def sign_in(self, name: str, password: str | None = None) -> tuple[int, Any, bytes]:
        """The sign-in form, as a browser sends it; on success keeps the session's CSRF token."""
        password = USERS[name][1] if password is None else password
        answer = self.request("POST", "/login", {"csrf_token": self.form_token(), "username": name,
                                                 "password": password})
        if answer[0] == 303:
            self.csrf = self.get_json("/api/me")["csrf_token"]
        return answer

    def signed_in(self, name: str) -> "Client":
        status, _, body = self.sign_in(name)
        assert status == 303, body
        return self


def query(store: Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """An independent read of the store (a second client in this process)."""
    client = connect(f"chdb://{store}")
    try:
        return client.query(sql, parameters=params).result_rows
    finally:
        client.close()


class LiveWorker:
    """`run_worker` (the page on, unless `web` is false) in a thread with its own event loop, clock pinned."""

    def __init__(self, store: Path, bootstrap: str, now: datetime = AS_OF, web: bool = True,
                 users: Path | None = None, **settings: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.bootstrap = bootstrap
        self.web = web
        if users is None and web:
            users = write_users(store.parent / f"users-{self.port}.json")
        self.settings = Settings(clickhouse=f"chdb://{store}", web_enabled=web, web_port=self.port,
                                 tick_s=0.2, batch_size=50, users=users or store.parent / "no-users.json",
                                 session_secret=SESSION_SECRET,
                                 **settings)
        self.now = now
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="live-worker", daemon=True)

    def _main(self) -> None:
        async def go() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            await run_worker(self.settings, bootstrap=self.bootstrap, stop=self._stop, now=lambda: self.now)

        try:
            asyncio.run(go())
        except BaseException as exc:  # reported by wait_ready/close
            self._error = exc

    def start(self, timeout: float = 60.0) -> "LiveWorker":
        self._thread.start()
        if not self.web:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"worker died: {self._error!r}")
            with contextlib.suppress(OSError):
                if get(self.url + "/login")[0] == 200:
                    return self
            time.sleep(0.2)
        raise TimeoutError("the live page did not come up")

    def client(self, name: str | None = "totrinh", address: str | None = None) -> Client:
        """A client of this worker's page, signed in as `name` (None: not signed in)."""
        client = Client(self.url, address)
        return client.signed_in(name) if name is not None else client

    def produce(self, events: list[dict[str, Any]]) -> None:
        p = KafkaProducer(bootstrap_servers=self.bootstrap)
        for e in events:
            p.send(self.settings.events_topic, key=e["dossier_id"].encode(), value=orjson.dumps(e))
        p.flush()
        p.close()

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def live_worker(store: Path, users: Path | None = None, **settings: Any) -> Iterator[LiveWorker]:
    with EmbeddedBroker() as broker:
        worker = LiveWorker(store, broker.bootstrap, users=users, **settings).start()
        try:
            yield worker
        finally:
            worker.close()
