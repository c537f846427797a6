"""ClickHouse access: the one client factory, and how a DSN is shown.

The same code talks to the embedded engine (`chdb:///path`, in-process, one
process per store directory) and to a server (`http://user:pw@host:8123/db`).
Calls block, so the worker runs them in an executor. Passwords never leave
this module: `redact()` is what logs and errors show of a DSN.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Over HTTP (a ClickHouse server, a served store) a query parameter travels as one form
# field, which the server bounds (`http_max_field_value_size`, 128 KiB by default): a list
# of codes goes in slices of at most this many bytes, quotes and commas counted.
FIELD_BYTES = 100_000


def in_chunks(ids: Sequence[str], client: Any) -> Iterator[Sequence[str]]:
    """`ids` in slices the store accepts as one query parameter: all at once in process
    (chDB has no form to bound), else at most FIELD_BYTES of them a slice."""
    if type(client).__name__ == "ChdbClient":
        if ids:
            yield ids
        return
    start, size = 0, 0
    for i, code in enumerate(ids):
        n = len(code.encode()) + 8  # quoted, escaped, separated, form-encoded
        if i > start and size + n > FIELD_BYTES:
            yield ids[start:i]
            start, size = i, 0
        size += n
    if start < len(ids):
        yield ids[start:]


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


class StoreHeld(ConnectionError):
    """The embedded store is open in another process (one process per store directory)."""


def is_held(store: Path) -> bool:
    """Does another process hold this embedded store? The engine keeps an exclusive lock on
    its `status` file for as long as it runs; the kernel's table of locks (`/proc/locks`)
    says which process holds it, so this very process (two connections of one worker) is
    told apart, and nobody meets the engine's own error on stderr."""
    try:
        st = (store / "status").stat()
        table = Path("/proc/locks").read_text()
    except OSError:
        return False
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in table.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == inode and fields[4] != str(os.getpid()):
            return True
    return False


def connect(dsn: str) -> Any:
    """A clickhouse-connect client; `chdb://` paths are made absolute and created.

    An embedded store another process holds (a worker, a `run`, a served store) is a
    `StoreHeld` that says what to do; any other failure to open or reach the store is a
    `ConnectionError` naming the store, never its password."""
    if dsn.startswith("chdb://"):
        path = dsn[len("chdb://"):]
        if path and path != "memory" and not path.startswith(":"):
            p = Path(path).expanduser().resolve()
            p.mkdir(parents=True, exist_ok=True)
            dsn, path = f"chdb://{p}", str(p)
        held = is_held(Path(path)) if path and path != "memory" else False
        if not held:
            try:
                return clickhouse_connect.get_client(dsn=dsn)
            except Exception as exc:  # noqa: BLE001 - re-raised as a message a user can act on
                held = is_held(Path(path))
                error = type(exc).__name__
        if held:
            raise StoreHeld(
                f"the embedded store {path} is held by another process (a worker, a run, or `dossier-stream "
                "store`); stop it first, or point DOSSIER_CLICKHOUSE at the store it serves (http://127.0.0.1:PORT) "
                "or at a ClickHouse server")
        raise ConnectionError(f"cannot open the embedded store {path}: {error}")
    try:
        return clickhouse_connect.get_client(dsn=dsn)
    except Exception as exc:  # the original message may contain the DSN: keep only its type
        error = type(exc).__name__
    # Raised outside the handler, so the original is not even chained as context.
    raise ConnectionError(f"cannot reach ClickHouse at {redact(dsn)}: {error}")


# Server error codes that pass by themselves: retried, the others stop the job.
TRANSIENT_CODES = frozenset({
    159,  # TIMEOUT_EXCEEDED
    164,  # READONLY (a replica catching up)
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    203,  # NO_FREE_CONNECTION
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    252,  # TOO_MANY_PARTS
    285,  # TOO_FEW_LIVE_REPLICAS
    319,  # UNKNOWN_STATUS_OF_INSERT
    425,  # SYSTEM_ERROR
    473,  # DEADLOCK_AVOIDED
    999,  # KEEPER_EXCEPTION
})


def is_transient(exc: BaseException) -> bool:
    """Would the same call succeed later? Connection trouble and timeouts, and the server's
    overload and lock codes, yes; a wrong column, a type error or bad SQL, never."""
    if isinstance(exc, (OperationalError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
        return True
    return isinstance(exc, DatabaseError) and getattr(exc, "code", None) in TRANSIENT_CODES


def check_identifier(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a valid ClickHouse identifier: {name!r}")
    return name
