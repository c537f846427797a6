"""What the converter has seen of one dossier: the snapshot it compares the next record with.

A provincial system re-sends the whole record on every local change, so the feed is
snapshots, not events: the converter keeps, per dossier, what its records have shown so
far (the last status, the lifecycle steps already emitted, the keys of the supplement
entries, result documents, receipts and progress entries already met, the latest
promised date) and emits only what is new. `Seen` is immutable; `to_json`/`from_json`
are its form in the store's `sync_dossiers` table (migration 006), so conversion
survives restarts and continues across files. It holds no personal field: only codes,
times and digests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

import orjson

RECORDS_KEPT = 64  # a dossier's distinct records: one per local change, a dozen or two
# Where a dossier stands as the converter reads it.
Phase = str  # "none" | "submitted" | "refused" | "open" | "supplement" | "tax" | "stopped" | "ended"
_TIMES = ("received_at", "promised_at", "last_at", "supplement_since", "tax_since")


@dataclass(frozen=True, slots=True)
class Seen:
    dossier_id: str
    source_unit: str | None = None  # madonvi of the latest envelope
    status: str | None = None  # the latest TrangThaiHoSo, as sent
    phase: Phase = "none"
    received_at: datetime | None = None
    receiving_unit: str | None = None
    current_unit: str | None = None
    promised_at: datetime | None = None  # the latest non-empty NgayHenTra
    last_at: datetime | None = None  # the latest moment the records prove (and of every event emitted)
    transfers: int = 0
    supplements: tuple[str, ...] = ()  # request times (ISO) of the supplement rounds opened
    supplement_since: datetime | None = None  # when the open supplement round was requested
    tax_rounds: int = 0
    tax_since: datetime | None = None  # when the open (or latest) tax round was sent
    tax_noticed: int = 0  # rounds whose notice was emitted
    payments: tuple[str, ...] = ()
    ended: str | None = None  # "concluded" | "withdrawn"
    documents: tuple[str, ...] = ()
    returned: bool = False
    progress: tuple[str, ...] = ()  # digests of the progress entries met
    records: tuple[str, ...] = ()  # digests of the whole records met (the latest RECORDS_KEPT)
    reported: tuple[str, ...] = ()  # problems already sent to the dead letters
    version: int = 0  # records and entries that changed it

    def evolve(self, **changes: Any) -> "Seen":
        return replace(self, **changes)

    def to_json(self) -> bytes:
        d = asdict(self)
        for name in _TIMES:
            if d[name] is not None:
                d[name] = d[name].isoformat()
        return orjson.dumps(d)

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Seen":
        d = orjson.loads(raw)
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        for name in _TIMES:
            if d.get(name):
                d[name] = datetime.fromisoformat(d[name])
        for name in ("supplements", "payments", "documents", "progress", "records", "reported"):
            d[name] = tuple(d.get(name) or ())
        return cls(**d)
