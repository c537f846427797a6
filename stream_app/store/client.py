"""ClickHouse access: the one client factory, and how a DSN is shown.

The same code talks to the embedded engine (`chdb:///path`, in-process, one
process per store directory) and to a server (`http://user:pw@host:8123/db`).
Calls block, so the worker runs them in an executor. Passwords never leave
this module: `redact()` is what logs and errors show of a DSN.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

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
