"""Reading replay files: JSON Lines, optionally gzip, one event per line.

Yields `(line_number, raw_bytes)` without parsing, so malformed lines travel
through the pipeline like any other input and end as dead letters with their
file and line. Gzip is recognised by its magic bytes, not the file's name; a
UTF-8 byte order mark at the start is dropped. `peek_dossier_id` finds the Kafka key cheaply and never fails.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO, Iterator

import orjson


GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"


def open_lines(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped when its content is gzip (whatever its name says)."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of every non-blank line; a UTF-8 byte order mark at the start
    of the file (a spreadsheet's or Windows editor's export) is not part of the first line."""
    with open_lines(path) as f:
        for n, line in enumerate(f, start=1):
            if n == 1 and line.startswith(UTF8_BOM):
                line = line[len(UTF8_BOM):]
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield n, line


def peek(raw: bytes) -> tuple[str | None, str | None]:
    """(dossier_id, occurred_at) when the line is a JSON object that has them."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(obj, dict):
        return None, None
    d, t = obj.get("dossier_id"), obj.get("occurred_at")
    return (d if isinstance(d, str) else None), (t if isinstance(t, str) else None)
