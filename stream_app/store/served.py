"""One embedded store served to many processes: ClickHouse's own HTTP and native protocols.

An embedded (chDB) store can be opened by one process only. The engine inside chDB is a
full clickhouse-local, and clickhouse-local can listen: `ServedStore` starts a child
process that opens the store and runs `SYSTEM START LISTEN HTTP` and `… TCP` on the
loopback ports named in a `config.xml` of its working folder, then one query that sleeps
for as long as the store is served (a sum over `sleepEachRow`, which idles at no CPU).
Every other process — workers, `report`, `export`, `rebuild`, the live page — then uses
`http://127.0.0.1:PORT` as its DSN, with clickhouse-connect as for a server. Stopping
kills that one query (`KILL QUERY … SYNC` over HTTP) and the child leaves; it also dies
with its parent, even on kill -9.

This rests on chDB's module-level `_chdb.query`, not its documented session API (whose
engine has no listeners): the chDB version is pinned (`constraints.txt`) and the tests
serve a store on every run. The engine's default user has no password and chDB's own
start-up needs it so; the listeners therefore bind 127.0.0.1 only, and the store is
for the processes of this machine (docs/security.md).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import structlog

from stream_app.process import die_with_parent, end, free_port
from stream_app.store.client import StoreHeld, is_held

log = structlog.get_logger(__name__)

LISTEN_HOST = "127.0.0.1"
# The query that keeps the listeners open: one row a second, for a few thousand years.
SERVE = ("SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; "
         "SELECT sum(sleepEachRow(1)) FROM numbers(100000000000) SETTINGS max_block_size = 1")
STOP = "KILL QUERY WHERE query LIKE 'SELECT sum(sleepEachRow%' SYNC"
CONFIG = ("<clickhouse><listen_host>{host}</listen_host><http_port>{http}</http_port><keep_alive_timeout>1</keep_alive_timeout>"
          "<tcp_port>{tcp}</tcp_port></clickhouse>\n")


class ServeFailed(ConnectionError):
    """The served store did not come up; the message says why."""


class ServedStore:
    """The child process serving `path`; a context manager. `dsn` is what others connect to."""

    def __init__(self, path: Path, *, http_port: int | None = None, tcp_port: int | None = None,
                 startup_timeout_s: float = 60.0) -> None:
        self.path = Path(path).expanduser().resolve()
        self.http_port = http_port or free_port()
        self.tcp_port = tcp_port or free_port()
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"http://{LISTEN_HOST}:{self.http_port}"

    @property
    def dsn(self) -> str:
        return self.url

    def start(self) -> "ServedStore":
        if is_held(self.path):
            raise StoreHeld(f"the embedded store {self.path} is held by another process; stop it before serving it")
        self.path.mkdir(parents=True, exist_ok=True)
        self._workdir = tempfile.TemporaryDirectory(prefix="dossier-store-")
        Path(self._workdir.name, "config.xml").write_text(
            CONFIG.format(host=LISTEN_HOST, http=self.http_port, tcp=self.tcp_port), encoding="utf-8")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "stream_app.store.served", str(self.path)], cwd=self._workdir.name,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                error = (self._proc.stderr.read() if self._proc.stderr else b"").decode(errors="replace")
                self._cleanup()
                raise ServeFailed(f"the store server exited at start ({error.strip()[-300:] or 'no message'})")
            if self._answers("/ping"):
                log.info("store.served", store=str(self.path), url=self.url, tcp_port=self.tcp_port,
                         pid=self._proc.pid)
                return self
            time.sleep(0.1)
        self.stop()
        raise ServeFailed(f"the store server did not answer on {self.url} within {self.startup_timeout_s:.0f} s")

    def _answers(self, path: str, query: str | None = None) -> bool:
        url = self.url + path
        data = query.encode() if query is not None else None
        try:
            with urllib.request.urlopen(url, data=data, timeout=5) as r:  # noqa: S310 - our own loopback URL
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self) -> int:
        """Until the server process ends (it is stopped, or it died); its exit code."""
        assert self._proc is not None
        return self._proc.wait()

    def stop(self, timeout_s: float = 30.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            t0 = time.monotonic()
            killed = self._answers("/", STOP)  # ends the serving query: the child finishes cleanly
            t1 = time.monotonic()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                end(proc)
            log.info("store.stopped", store=str(self.path), killed=killed, kill_s=round(t1 - t0, 2),
                     exit_s=round(time.monotonic() - t1, 2))
        self._cleanup()

    def _cleanup(self) -> None:
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> "ServedStore":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve(path: str) -> int:
    """The child: open the store and serve it until the serving query is killed."""
    from chdb import _chdb

    try:
        _chdb.query(SERVE, "TabSeparated", path=path)
    except Exception as exc:  # noqa: BLE001 - a killed serving query is how a stop looks
        if "QUERY_WAS_CANCELLED" not in str(exc) and "cancelled" not in str(exc).lower():
            print(f"store server: {type(exc).__name__}: {str(exc)[:500]}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    die_with_parent()
    sys.exit(_serve(sys.argv[1]))
