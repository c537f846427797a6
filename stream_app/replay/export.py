"""The stored events, back in the input format (docs/contract.md §1), for other tools.

`stored_events` reads the `events` table (deduplicated with FINAL) in the
order of a replay file — by `occurred_at`, then dossier and event id — in
chunks with a keyset cursor, so memory stays flat and a replay from the store
can resume after any event. `event_object` turns a row into the contract's
JSON object: the common fields, the type's own fields that are set, times as
RFC 3339 with their +07:00 offset (milliseconds when not whole seconds, which
is all the store keeps). `export` writes them as JSON Lines (gzip when the
name ends in `.gz`) or as Parquet (one typed column per contract field, times
as timestamps in Asia/Ho_Chi_Minh). Replaying an export gives the same
tables: the store holds exactly what the worker parsed from the input.
"""

from __future__ import annotations

import gzip
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import orjson

from stream_app.domain.events import OWN_FIELDS
from stream_app.store.client import check_identifier
from stream_app.store.rows import EVENT_COLUMNS

CHUNK = 50_000
TIME_FIELDS = frozenset({"occurred_at", "source_due_at", "new_due_at"})
_COLS = [c for c in EVENT_COLUMNS if c != "ingested_at"]
# Cursor: (occurred_at in epoch milliseconds, dossier_id, event_id), the sort order.
Cursor = tuple[int, str, str]


@dataclass(frozen=True)
class Selection:
    """Which events: `since` <= occurred_at < `until`, dossiers received by `units`."""

    since: datetime | None = None
    until: datetime | None = None
    units: tuple[str, ...] = ()

    @property
    def filtered(self) -> bool:
        return self.since is not None or self.until is not None or bool(self.units)

    def admits_time(self, t: datetime) -> bool:
        return (self.since is None or t >= self.since) and (self.until is None or t < self.until)

    def key(self) -> dict[str, Any]:
        return {"since": _iso(self.since), "until": _iso(self.until), "units": sorted(self.units)}


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def rfc3339(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds" if t.microsecond else "seconds")


def event_object(row: dict[str, Any]) -> dict[str, Any]:
    """One stored row as the contract's JSON-ready object (unset own fields left out)."""
    obj: dict[str, Any] = {
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "dossier_id": row["dossier_id"],
        "occurred_at": rfc3339(row["occurred_at"]),
        "agency_code": row["agency_code"],
    }
    for name in OWN_FIELDS:
        v = row.get(name)
        if v is not None:
            obj[name] = rfc3339(v) if name in TIME_FIELDS else v
    version = row.get("schema_version")
    if version not in (None, 1):
        obj["schema_version"] = int(version)
    return obj


def _where(selection: Selection, db: str, after: Cursor | None) -> tuple[str, dict[str, Any]]:
    clauses, params = ["1"], {}
    if selection.since is not None:
        clauses.append("toUnixTimestamp64Milli(occurred_at) >= {since:Int64}")
        params["since"] = _ms(selection.since)
    if selection.until is not None:
        clauses.append("toUnixTimestamp64Milli(occurred_at) < {until:Int64}")
        params["until"] = _ms(selection.until)
    if selection.units:
        clauses.append(
            f"dossier_id IN (SELECT dossier_id FROM {db}.events WHERE event_type = 'received' "
            "AND agency_code IN {units:Array(String)})"
        )
        params["units"] = list(selection.units)
    if after is not None:
        clauses.append("(toUnixTimestamp64Milli(occurred_at), dossier_id, event_id) > "
                       "({c_ms:Int64}, {c_dossier:String}, {c_event:String})")
        params.update(c_ms=after[0], c_dossier=after[1], c_event=after[2])
    return " AND ".join(clauses), params


def count_stored(client: Any, database: str, selection: Selection, after: Cursor | None = None) -> int:
    db = check_identifier(database)
    where, params = _where(selection, db, after)
    q = client.query(f"SELECT count() FROM {db}.events FINAL WHERE {where}", parameters=params)
    return int(q.result_rows[0][0])


def stored_events(
    client: Any, database: str, selection: Selection | None = None, after: Cursor | None = None, chunk: int = CHUNK,
) -> Iterator[tuple[Cursor, dict[str, Any]]]:
    """(cursor, row) for every stored event selected, in replay order, after `after`."""
    db = check_identifier(database)
    selection = selection or Selection()
    while True:
        where, params = _where(selection, db, after)
        q = client.query(
            f"SELECT {', '.join(_COLS)} FROM {db}.events FINAL WHERE {where} "
            f"ORDER BY occurred_at, dossier_id, event_id LIMIT {int(chunk)}",
            parameters=params,
        )
        names = q.column_names
        rows = q.result_rows
        for values in rows:
            row = dict(zip(names, values))
            after = (_ms(row["occurred_at"]), row["dossier_id"], row["event_id"])
            yield after, row
        if len(rows) < chunk:
            return


# ------------------------------------------------------------------ writing
@dataclass
class Exported:
    events: int = 0
    first: datetime | None = None
    last: datetime | None = None


def export(
    client: Any, database: str, selection: Selection, fmt: str, out: Path | None,
    on_progress: Callable[[int], None] | None = None,
) -> Exported:
    """Write the selected stored events to `out` (stdout for JSON Lines when None)."""
    rows = stored_events(client, database, selection)
    if fmt == "jsonl":
        return _write_jsonl(rows, out, on_progress)
    if fmt == "parquet":
        if out is None:
            raise ValueError("--format parquet needs --out FILE")
        return _write_parquet(rows, out, on_progress)
    raise ValueError(f"unknown export format {fmt!r}: jsonl or parquet")


@contextmanager
def _text_out(out: Path | None) -> Iterator[IO[bytes]]:
    if out is None:
        yield sys.stdout.buffer
        sys.stdout.flush()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with (gzip.open(out, "wb") if out.suffix == ".gz" else open(out, "wb")) as f:
        yield f


def _note(stats: Exported, row: dict[str, Any], on_progress: Callable[[int], None] | None) -> None:
    stats.events += 1
    t = row["occurred_at"]
    stats.first = t if stats.first is None else min(stats.first, t)
    stats.last = t if stats.last is None else max(stats.last, t)
    if on_progress is not None and stats.events % 5000 == 0:
        on_progress(stats.events)


def _write_jsonl(rows: Iterator[tuple[Cursor, dict[str, Any]]], out: Path | None,
                 on_progress: Callable[[int], None] | None) -> Exported:
    stats = Exported()
    with _text_out(out) as f:
        for _, row in rows:
            f.write(orjson.dumps(event_object(row)) + b"\n")
            _note(stats, row, on_progress)
    return stats


def parquet_schema() -> Any:
    import pyarrow as pa

    ts = pa.timestamp("ms", tz="Asia/Ho_Chi_Minh")
    text = pa.string()
    return pa.schema([
        ("event_id", text), ("event_type", text), ("dossier_id", text), ("occurred_at", ts),
        ("agency_code", text), ("procedure_code", text), ("channel", text), ("source_due_at", ts),
        ("to_unit", text), ("tax_office", text), ("new_due_at", ts), ("outcome", text),
        ("document_ref", text), ("signed", pa.bool_()), ("schema_version", pa.int32()),
    ])


def _write_parquet(rows: Iterator[tuple[Cursor, dict[str, Any]]], out: Path,
                   on_progress: Callable[[int], None] | None) -> Exported:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow ships in the venv
        raise ValueError("--format parquet needs pyarrow: pip install pyarrow") from None
    schema = parquet_schema()
    names = schema.names
    stats = Exported()
    out.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for _, row in rows:
            batch.append({n: row.get(n) for n in names})
            _note(stats, row, on_progress)
            if len(batch) >= CHUNK:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or stats.events == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return stats


def parquet_objects(path: Path) -> Iterator[dict[str, Any]]:
    """The contract objects of an exported Parquet file, row by row."""
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
        for row in batch.to_pylist():
            yield event_object({k: v for k, v in row.items()})
