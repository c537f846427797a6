"""Rows for the ClickHouse tables, built from the domain's objects.

Column lists here are the single source of truth the sink inserts with; they
match sinks/migrations. Times stay timezone-aware (clickhouse-connect treats
naive datetimes as UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stream_app.domain.alerts import AlertSpec
from stream_app.domain.causes import overdue_cause, overdue_unit
from stream_app.domain.dossier import Rules
from stream_app.domain.events import DossierEvent
from stream_app.domain.history import DossierHistory
from stream_app.schemas.parse import DeadLetter

EVENT_COLUMNS = (
    "event_id", "dossier_id", "event_type", "occurred_at", "agency_code", "procedure_code",
    "channel", "source_due_at", "to_unit", "tax_office", "new_due_at", "outcome",
    "document_ref", "signed", "schema_version", "ingested_at",
)
DEAD_LETTER_COLUMNS = ("received_at", "source", "raw", "error_code", "error_detail")
STATE_COLUMNS = (
    "dossier_id", "procedure_code", "procedure_known", "receiving_unit", "current_unit", "channel",
    "status", "received_at", "due_at", "extended_due_at", "extensions", "late_extensions",
    "finished_at", "outcome", "classification", "supplements", "sent_to_tax_at", "tax_due_at",
    "tax_notice_at", "paid_at", "payment_channel", "result_attached_at", "result_returned_at",
    "unit_hours", "overdue_cause", "overdue_unit", "active", "version", "updated_at",
)
ALERT_COLUMNS = (
    "alert_id", "kind", "dossier_id", "unit", "receiving_unit", "procedure_code", "fires_at",
    "emitted_at", "due_at", "message", "retracted", "version",
)
TABLE_COLUMNS = {
    "events": EVENT_COLUMNS,
    "dead_letters": DEAD_LETTER_COLUMNS,
    "dossier_state": STATE_COLUMNS,
    "alerts": ALERT_COLUMNS,
    "stream_progress": ("name", "watermark", "updated_at"),
}


def event_row(ev: DossierEvent, now: datetime) -> list[Any]:
    return [
        ev.event_id, ev.dossier_id, ev.event_type, ev.occurred_at, ev.agency_code, ev.procedure_code,
        ev.channel, ev.source_due_at, ev.to_unit, ev.tax_office, ev.new_due_at, ev.outcome,
        ev.document_ref, ev.signed, ev.schema_version, now,
    ]


def event_from_row(row: dict[str, Any]) -> DossierEvent:
    fields = {k: row[k] for k in EVENT_COLUMNS if k != "ingested_at"}
    return DossierEvent(**fields)


def dead_letter_row(dl: DeadLetter, now: datetime) -> list[Any]:
    return [now, dl.source, dl.raw, dl.error_code, dl.error_detail]


def classification(h: DossierHistory, rules: Rules) -> str:
    s = h.state
    done = s.finish_classification(rules.calendar)
    if done is not None:
        return done
    if s.due_at is not None and h.breached(rules.calendar.end_of_local_day(s.due_at)):
        return "open_overdue"
    return "open"


def state_row(h: DossierHistory, rules: Rules, now: datetime) -> list[Any]:
    s = h.state
    cls = classification(h, rules)
    overdue = cls in ("overdue", "open_overdue")
    return [
        s.dossier_id, s.procedure_code, s.procedure_known, s.receiving_unit, s.current_unit, s.channel,
        s.status, s.received_at, None if s.status == "paused" else s.due_at, s.extended_due_at,
        len(s.extensions), sum(1 for *_, late in s.extensions if late),
        s.finished_at, s.outcome, cls, min(s.supplement_count, 255), s.sent_to_tax_at, s.tax_due_at,
        s.tax_notice_at, s.paid_at, s.payment_channel, s.result_attached_at, s.result_returned_at,
        {u: round(v, 4) for u, v in s.unit_hours.items()},
        overdue_cause(s, rules.calendar) if overdue else None,
        overdue_unit(s) if overdue else None,
        h.active, h.version, now,
    ]


def alert_row(a: AlertSpec, message: str, emitted_at: datetime, retracted: bool) -> list[Any]:
    return [
        a.alert_id, a.kind, a.dossier_id, a.unit, a.receiving_unit, a.procedure_code, a.fires_at,
        emitted_at, a.due_at, message, retracted, 2 if retracted else 1,
    ]


def alert_message(row: list[Any]) -> dict[str, Any]:
    """The alert as JSON-ready dict for the alerts topic and webhooks."""
    out = dict(zip(ALERT_COLUMNS, row))
    for k in ("fires_at", "emitted_at", "due_at"):
        if out[k] is not None:
            out[k] = out[k].isoformat(timespec="milliseconds")
    out.pop("version")
    return out
