"""ClickHouse access: one client factory, the migrations runner, the batched sink.

The same code talks to the embedded engine (`chdb:///path`, in-process, one
process per store directory) and to a server (`http://user:pw@host:8123/db`).
Calls block, so the worker runs them in an executor. Passwords never leave
this module: `redact()` is what logs and errors show of a DSN.
"""

from __future__ import annotations

import re
import time
from importlib import resources
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import clickhouse_connect
import structlog

log = structlog.get_logger(__name__)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def redact(dsn: str) -> str:
    """The DSN with any password (in the user info or a `password=` parameter) replaced by ***."""
    parts = urlsplit(dsn)
    netloc, query = parts.netloc, parts.query
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if "pass" in k.lower() else v) for k, v in pairs], safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return dsn
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def connect(dsn: str) -> Any:
    """A clickhouse-connect client; `chdb://` paths are made absolute and created."""
    if dsn.startswith("chdb://"):
        path = dsn[len("chdb://"):]
        if path and path != "memory" and not path.startswith(":"):
            p = Path(path).expanduser().resolve()
            p.mkdir(parents=True, exist_ok=True)
            dsn = f"chdb://{p}"
        return clickhouse_connect.get_client(dsn=dsn)
    try:
        return clickhouse_connect.get_client(dsn=dsn)
    except Exception as exc:  # the original message may contain the DSN: keep only its type
        error = type(exc).__name__
    # Raised outside the handler, so the original is not even chained as context.
    raise ConnectionError(f"cannot reach ClickHouse at {redact(dsn)}: {error}")


def check_identifier(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a valid ClickHouse identifier: {name!r}")
    return name


def migrate(client: Any, database: str) -> list[str]:
    """Apply the versioned migrations in sinks/migrations that are not applied yet."""
    db = check_identifier(database)
    client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
        "(version UInt32, name String, applied_at DateTime DEFAULT now()) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = {r[0] for r in client.query(f"SELECT version FROM {db}.schema_migrations").result_rows}
    applied = []
    files = sorted(
        (f for f in resources.files("stream_app.store").joinpath("migrations").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    for f in files:
        version = int(f.name.split("_", 1)[0])
        if version in done:
            continue
        for statement in _statements(f.read_text(encoding="utf-8")):
            client.command(statement.replace("{db}", db))
        client.insert(f"{db}.schema_migrations", [[version, f.name]], column_names=["version", "name"])
        applied.append(f.name)
        log.info("clickhouse.migrated", migration=f.name)
    return applied


def _statements(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class ClickHouseSink:
    """Buffers rows per table; `flush()` writes them all or raises.

    Guarantees: rows added before a successful `flush()` are in ClickHouse
    when it returns; after a failure the buffer is kept intact, so the caller
    retries the same rows (every table is idempotent, so a partial write that
    is retried leaves the same logical rows). The caller acknowledges Kafka
    offsets only after `flush()` returned.
    """

    def __init__(self, client: Any, database: str, columns: dict[str, Sequence[str]]) -> None:
        self.client = client
        self.db = check_identifier(database)
        self.columns = columns
        self._rows: dict[str, list[list[Any]]] = {t: [] for t in columns}

    def add(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        self._rows[table].extend(rows)  # type: ignore[arg-type]

    @property
    def pending(self) -> int:
        return sum(len(r) for r in self._rows.values())

    def flush(self, order: Sequence[str] = ()) -> dict[str, int]:
        """Write every buffered row, the tables named in `order` in that order, then the rest.

        Each table's rows go in one insert (atomic); the tables one after another, so a
        crash may land between two of them: the caller orders them so that what is
        written last is what marks the rows as done.
        """
        written = {}
        tables = [*order, *(t for t in self._rows if t not in order)]
        for table in tables:
            rows = self._rows[table]
            if not rows:
                continue
            t0 = time.perf_counter()
            self.client.insert(f"{self.db}.{table}", rows, column_names=list(self.columns[table]))
            written[table] = len(rows)
            log.debug("sink.flushed", table=table, rows=len(rows), duration_ms=round((time.perf_counter() - t0) * 1000, 1))
            self._rows[table] = []
        return written
