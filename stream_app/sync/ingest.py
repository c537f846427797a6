"""A run of envelopes through the converter, with what was seen kept in the store.

`SyncConverter.convert(lines)` opens each envelope (`gate`), reads the seen snapshots
of the dossiers it has not met yet in one query (`load`, the store's `sync_dossiers`),
converts every record and progress entry in order (`convert`) and returns the lifecycle
events, each labelled with its envelope's source, and the dead letters. The snapshots
that changed wait in `changed` until the caller has the events safely in the pipeline
and calls `seen_rows()` to store them: a crash in between converts the same records
again into the same event ids, which the pipeline ignores, so nothing is lost or doubled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from stream_app.schemas.parse import DeadLetter
from stream_app.sync.convert import Context, Conversion, convert_progress, convert_record
from stream_app.sync.gate import Opened, open_envelope
from stream_app.sync.seen import Seen

# Reads the stored snapshots of these dossiers (those it has), as JSON.
Load = Callable[[list[str]], dict[str, bytes]]


@dataclass
class Converted:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (source, docs/contract.md §1 object)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class SyncConverter:
    def __init__(self, ctx: Context, load: Load) -> None:
        self.ctx = ctx
        self.load = load
        self.known: dict[str, Seen | None] = {}  # None: the store has never seen it
        self.changed: dict[str, Seen] = {}
        self.stats: Counter[str] = Counter()

    def convert(self, lines: Iterable[tuple[str, bytes]]) -> Converted:
        opened = [open_envelope(raw, source, self.ctx.mapping) for source, raw in lines]
        wanted = {r.MaHoSo for o in opened for r, _ in o.records} | {p.MaHoSo for o in opened for p in o.progress}
        missing = sorted(wanted - self.known.keys())
        if missing:
            stored = self.load(missing)
            for dossier_id in missing:
                raw = stored.get(dossier_id)
                self.known[dossier_id] = None if raw is None else Seen.from_json(raw)
        out = Converted()
        for envelope in opened:
            self._envelope(envelope, out)
        return out

    def _envelope(self, o: Opened, out: Converted) -> None:
        self.stats["envelopes"] += 1
        for dl in o.dead:
            self.stats[f"dead_letter.{dl.error_code}"] += 1
        out.dead_letters.extend(o.dead)
        for record, known in o.records:
            self.stats["dossier_records"] += 1
            conv = convert_record(self.known[record.MaHoSo], record, o.sender, self.ctx)
            self._take(record.MaHoSo, conv, o, known, out)
        by_dossier: dict[str, list[Any]] = {}
        for entry in o.progress:
            self.stats["progress_entries"] += 1
            by_dossier.setdefault(entry.MaHoSo, []).append(entry)
        for dossier_id, entries in by_dossier.items():
            conv = convert_progress(self.known[dossier_id], dossier_id, entries, o.sender, self.ctx)
            self._take(dossier_id, conv, o, {"MaHoSo": dossier_id}, out)

    def _take(self, dossier_id: str, conv: Conversion, o: Opened, known: dict[str, Any], out: Converted) -> None:
        for problem in conv.problems:
            out.dead_letters.append(o.dead_letter(known, problem.code, problem.detail))
            self.stats[f"dead_letter.{problem.code}"] += 1
        if conv.seen is None:
            self.stats["unchanged"] += 1
            return
        self.known[dossier_id] = self.changed[dossier_id] = conv.seen
        for event in conv.events:
            out.events.append((o.source, event))
            self.stats[f"event.{event['event_type']}"] += 1

    def seen_rows(self, now: datetime) -> list[list[Any]]:
        """The changed snapshots as `sync_dossiers` rows; they are no longer pending after this."""
        rows = [seen_row(s, now) for _, s in sorted(self.changed.items())]
        self.changed = {}
        return rows

    def forget(self) -> None:
        """Drop what is held of dossiers already stored (a live worker's bound on memory)."""
        self.known = dict(self.changed)


SEEN_COLUMNS = ("dossier_id", "source_unit", "status", "received_at", "promised_at", "snapshot", "version",
                "updated_at")


def seen_row(s: Seen, now: datetime) -> list[Any]:
    return [s.dossier_id, s.source_unit, s.status, s.received_at, s.promised_at, s.to_json().decode(), s.version, now]
