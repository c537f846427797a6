"""The domain's own view of one lifecycle event: small, immutable, ordered.

`schemas` validates what arrives from outside; the domain keeps only the fields
the rules need, in a slotted dataclass (a dossier keeps its events in memory,
so size matters). `sort_key` is the one total order of a dossier's events: by
time, then by lifecycle rank for simultaneous events, then by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Simultaneous events are ordered as a dossier normally moves; the id breaks
# any remaining tie, so the order never depends on arrival.
RANK = {
    "received": 0,
    "transferred": 1,
    "supplement_requested": 2,
    "supplement_received": 3,
    "sent_to_tax": 4,
    "tax_notice_issued": 5,
    "obligation_paid": 6,
    "extended": 7,
    "result_attached": 8,
    "result_returned": 9,
    "concluded": 10,
    "withdrawn": 11,
}

_COMMON = ("event_id", "event_type", "dossier_id", "occurred_at", "agency_code", "schema_version")
OWN_FIELDS = (
    "procedure_code",
    "channel",
    "source_due_at",
    "to_unit",
    "tax_office",
    "new_due_at",
    "outcome",
    "document_ref",
    "signed",
)


def to_millis(t: datetime | None) -> datetime | None:
    """Truncate to the millisecond: the store keeps DateTime64(3), and a dossier
    restored from it must fold to exactly the same times as a fresh one."""
    if t is None or t.microsecond % 1000 == 0:
        return t
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


@dataclass(frozen=True, slots=True)
class DossierEvent:
    event_id: str
    event_type: str
    dossier_id: str
    occurred_at: datetime
    agency_code: str
    procedure_code: str | None = None
    channel: str | None = None
    source_due_at: datetime | None = None
    to_unit: str | None = None
    tax_office: str | None = None
    new_due_at: datetime | None = None
    outcome: str | None = None
    document_ref: str | None = None
    signed: bool | None = None
    schema_version: int = 1

    @property
    def sort_key(self) -> tuple[datetime, int, str]:
        return (self.occurred_at, RANK[self.event_type], self.event_id)

    @classmethod
    def from_model(cls, model: Any) -> "DossierEvent":
        """Build from a validated `schemas` event (any object with the attributes)."""
        # Read the model's field dict: getattr on a pydantic model for a field the
        # type does not have costs an exception path, and this runs per event.
        fields = getattr(model, "__dict__", None) or {n: getattr(model, n, None) for n in (*OWN_FIELDS, *_COMMON)}
        get = fields.get
        return cls(
            event_id=fields["event_id"],
            event_type=fields["event_type"],
            dossier_id=fields["dossier_id"],
            occurred_at=to_millis(fields["occurred_at"]),
            agency_code=fields["agency_code"],
            procedure_code=get("procedure_code"),
            channel=get("channel"),
            source_due_at=to_millis(get("source_due_at")),
            to_unit=get("to_unit"),
            tax_office=get("tax_office"),
            new_due_at=to_millis(get("new_due_at")),
            outcome=get("outcome"),
            document_ref=get("document_ref"),
            signed=get("signed"),
            schema_version=get("schema_version") or 1,
        )
