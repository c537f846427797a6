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
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest
from kafka import KafkaProducer

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
    """(status, content type, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def get_json(url: str) -> Any:
    status, _, body = get(url)
    assert status == 200, body
    return orjson.loads(body)


def query(store: Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """An independent read of the store (a second client in this process)."""
    client = connect(f"chdb://{store}")
    try:
        return client.query(sql, parameters=params).result_rows
    finally:
        client.close()


class LiveWorker:
    """`run_worker` (the page on, unless `web` is false) in a thread with its own event loop, clock pinned."""

    def __init__(self, store: Path, bootstrap: str, now: datetime = AS_OF, web: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.bootstrap = bootstrap
        self.web = web
        self.settings = Settings(clickhouse=f"chdb://{store}", web_enabled=web, web_port=self.port,
                                 tick_s=0.2, batch_size=50)
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
                if get(self.url + "/api/live")[0] == 200:
                    return self
            time.sleep(0.2)
        raise TimeoutError("the live page did not come up")

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
def live_worker(store: Path) -> Iterator[LiveWorker]:
    with EmbeddedBroker() as broker:
        worker = LiveWorker(store, broker.bootstrap).start()
        try:
            yield worker
        finally:
            worker.close()
