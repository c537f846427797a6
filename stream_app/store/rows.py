"""Rows for the ClickHouse tables, built from what the processor produced.

The column lists here are the single source of truth the writer inserts with;
they match `store/migrations`. Each builder only puts values in column order:
every decision (classification, cause, due time) was taken in the domain. Times
stay timezone-aware (clickhouse-connect treats naive datetimes as UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stream_app.core.output import AlertChange
from stream_app.domain.events import DossierEvent
from stream_app.domain.snapshot import DossierSnapshot
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
PROGRESS_COLUMNS = ("name", "watermark", "updated_at")
TABLE_COLUMNS = {
    "events": EVENT_COLUMNS,
    "dead_letters": DEAD_LETTER_COLUMNS,
    "dossier_state": STATE_COLUMNS,
    "alerts": ALERT_COLUMNS,
    "stream_progress": PROGRESS_COLUMNS,
}
_SNAPSHOT_FIELDS = STATE_COLUMNS[:-1]  # DossierSnapshot holds them all but the wall clock


def event_row(ev: DossierEvent, now: datetime | None) -> list[Any]:
    return [
        ev.event_id, ev.dossier_id, ev.event_type, ev.occurred_at, ev.agency_code, ev.procedure_code,
        ev.channel, ev.source_due_at, ev.to_unit, ev.tax_office, ev.new_due_at, ev.outcome,
        ev.document_ref, ev.signed, ev.schema_version, now,
    ]


def event_from_row(row: dict[str, Any]) -> DossierEvent:
    fields = {k: row[k] for k in EVENT_COLUMNS if k != "ingested_at"}
    return DossierEvent(**fields)


def dead_letter_row(dl: DeadLetter, now: datetime | None) -> list[Any]:
    return [now, dl.source, dl.raw, dl.error_code, dl.error_detail]


def state_row(s: DossierSnapshot, now: datetime | None) -> list[Any]:
    return [*(getattr(s, name) for name in _SNAPSHOT_FIELDS), now]


def alert_row(a: AlertChange) -> list[Any]:
    spec = a.spec
    return [
        spec.alert_id, spec.kind, spec.dossier_id, spec.unit, spec.receiving_unit, spec.procedure_code,
        spec.fires_at, a.emitted_at, spec.due_at, a.message, a.retracted, a.version,
    ]
