"""A dossier as the task force reads it: the values of its `dossier_state` row.

`snapshot(history, rules)` takes everything a state row shows from a dossier's
history at one moment — where it is, its due time (none while paused), how it is
classified, why it is overdue and which unit held it past its share — so that the
row, the page and the report all read one decision. The store only orders the
values into columns (`store.rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stream_app.domain.causes import overdue_cause, overdue_unit
from stream_app.domain.codes import Classification
from stream_app.domain.dossier import Rules
from stream_app.domain.history import DossierHistory


@dataclass(frozen=True, slots=True)
class DossierSnapshot:
    """The fields of docs/contract.md §3's `dossier_state`, in its column order (bar `updated_at`)."""

    dossier_id: str
    procedure_code: str | None
    procedure_known: bool
    receiving_unit: str | None
    current_unit: str | None
    channel: str | None
    status: str
    received_at: datetime | None
    due_at: datetime | None
    extended_due_at: datetime | None
    extensions: int
    late_extensions: int
    finished_at: datetime | None
    outcome: str | None
    classification: Classification
    supplements: int
    sent_to_tax_at: datetime | None
    tax_due_at: datetime | None
    tax_notice_at: datetime | None
    paid_at: datetime | None
    payment_channel: str | None
    result_attached_at: datetime | None
    result_returned_at: datetime | None
    unit_hours: dict[str, float]
    overdue_cause: str | None
    overdue_unit: str | None
    active: bool
    version: int


SUPPLEMENTS_SHOWN = 255  # the column is a UInt8


def snapshot(h: DossierHistory, rules: Rules) -> DossierSnapshot:
    s = h.state
    cls = h.classification(rules)
    overdue = cls in ("overdue", "open_overdue")
    return DossierSnapshot(
        s.dossier_id, s.procedure_code, s.procedure_known, s.receiving_unit, s.current_unit, s.channel,
        s.status, s.received_at, None if s.status == "paused" else s.due_at, s.extended_due_at,
        len(s.extensions), sum(1 for *_, late in s.extensions if late),
        s.finished_at, s.outcome, cls, min(s.supplement_count, SUPPLEMENTS_SHOWN), s.sent_to_tax_at, s.tax_due_at,
        s.tax_notice_at, s.paid_at, s.payment_channel, s.result_attached_at, s.result_returned_at,
        {u: round(v, 4) for u, v in s.unit_hours.items()},
        overdue_cause(s, rules.calendar) if overdue else None,
        overdue_unit(s) if overdue else None,
        h.active, h.version,
    )
