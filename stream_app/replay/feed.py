"""What a replay sends: the records of one source, selected, in order, from a position.

A feed yields `Item`s — the raw bytes to produce, the Kafka key (the dossier
code), the event time for pacing, the resume position and the label a dead
letter names it by. `FileFeed` reads JSON Lines (`.jsonl`, `.jsonl.gz`) or an
exported Parquet file; the position is the line (row) number. `StoreFeed`
reads the `events` table of a ClickHouse database; the position is the
store cursor. Selection: `since <= occurred_at < until`, and with `--unit`
only dossiers whose `received` happened at one of the units (found in a first
pass, so a dossier is sent whole or not at all). A line with no readable
dossier or time is sent as is when nothing is selected (the worker turns it
into a dead letter with its file and line), and skipped and counted when a
selection is in force, since it cannot be placed in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import orjson

from stream_app.replay.export import (
    Cursor,
    Selection,
    count_stored,
    event_object,
    parquet_objects,
    stored_events,
)
from stream_app.replay.source import read_lines


@dataclass(frozen=True, slots=True)
class Item:
    position: Any
    raw: bytes
    key: bytes
    occurred_at: datetime | None
    label: str


def _peek(raw: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.upper())
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


class FileFeed:
    def __init__(self, path: Path, selection: Selection | None = None) -> None:
        if not path.exists():
            raise FileNotFoundError(f"replay source not found: {path}")
        self.path = path
        self.selection = selection or Selection()
        self.name = path.name
        self.parquet = path.suffix == ".parquet"
        self.skipped = 0  # unreadable lines left out by a selection
        self._dossiers: set[str] | None = None

    @property
    def identity(self) -> str:
        return f"file:{self.path.resolve()}"

    @property
    def fingerprint(self) -> str:
        st = self.path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"

    def _raw(self) -> Iterator[tuple[int, bytes]]:
        if self.parquet:
            for n, obj in enumerate(parquet_objects(self.path), start=1):
                yield n, orjson.dumps(obj)
        else:
            yield from read_lines(self.path)

    def _unit_dossiers(self) -> set[str] | None:
        if not self.selection.units:
            return None
        if self._dossiers is None:
            units = set(self.selection.units)
            self._dossiers = set()
            for _, raw in self._raw():
                obj = _peek(raw)
                if obj and obj.get("event_type") == "received" and obj.get("agency_code") in units:
                    if isinstance(obj.get("dossier_id"), str):
                        self._dossiers.add(obj["dossier_id"])
        return self._dossiers

    def items(self, after: int | None = None) -> Iterator[Item]:
        sel, dossiers = self.selection, self._unit_dossiers()
        self.skipped = 0
        for n, raw in self._raw():
            if after is not None and n <= after:
                continue
            obj = _peek(raw)
            dossier_id = obj.get("dossier_id") if obj else None
            dossier_id = dossier_id if isinstance(dossier_id, str) else None
            t = _instant(obj.get("occurred_at")) if obj else None
            if sel.filtered:
                if dossier_id is None or t is None:
                    self.skipped += 1
                    continue
                if not sel.admits_time(t) or (dossiers is not None and dossier_id not in dossiers):
                    continue
            yield Item(n, raw, (dossier_id or "").encode(), t, f"{self.name}:{n}")

    def count(self, after: int | None = None) -> int:
        n = sum(1 for _ in self.items(after))
        self.skipped = 0
        return n


class StoreFeed:
    """The stored events of one database (the store given by DOSSIER_CLICKHOUSE)."""

    def __init__(self, client: Any, database: str, selection: Selection | None = None, *, dsn: str = "") -> None:
        self.client = client
        self.database = database
        self.selection = selection or Selection()
        self.name = f"{database}.events"
        self.dsn = dsn
        self.skipped = 0

    @property
    def identity(self) -> str:
        return f"clickhouse:{self.dsn}/{self.database}"

    @property
    def fingerprint(self) -> str:
        return ""  # the cursor stays valid as the table grows

    def items(self, after: list[Any] | Cursor | None = None) -> Iterator[Item]:
        cursor = tuple(after) if after is not None else None
        for pos, row in stored_events(self.client, self.database, self.selection, after=cursor):  # type: ignore[arg-type]
            obj = event_object(row)
            yield Item(list(pos), orjson.dumps(obj), row["dossier_id"].encode(), row["occurred_at"],
                       f"{self.name}:{row['event_id']}")

    def count(self, after: list[Any] | Cursor | None = None) -> int:
        return count_stored(self.client, self.database, self.selection, tuple(after) if after else None)  # type: ignore[arg-type]


class Preread:
    """A feed read in full before the replay starts (the store, when the worker runs in-process)."""

    def __init__(self, feed: StoreFeed, after: Any = None) -> None:
        self.name, self.skipped = feed.name, 0
        self._items = list(feed.items(after))

    def items(self, after: Any = None) -> Iterator[Item]:
        return iter(self._items)  # already read from `after`

    def count(self, after: Any = None) -> int:
        return len(self._items)


def preread(feed: StoreFeed, after: Any = None) -> Preread:
    return Preread(feed, after)
