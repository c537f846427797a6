"""The due-date audit in the monthly report: the promised date against the legal due time.

`load_audit` reads the `due_date_audit` view (store/views.sql) for one month: per
receiving unit, the dossiers finished in the month counted both ways — as the national
portal counts them (by date, against the provincial system's promised date NgayHenTra)
and by the legal clock — the open dossiers overdue at the month's end both ways, and how
many promises were later or earlier than the law allows; and the list of the dossiers
that are on time on the portal but late by law. `audit_section.audit_blocks` puts it in Vietnamese
(in `audit_section`). Dossiers without a promise (a feed of events without
`source_due_at`) make an empty audit, and the section says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from stream_app.store.client import check_identifier

LISTED = 50
# Fragments of the queries (values only ever as parameters).
_SCOPE = "({unit:String} = '' OR unit = {unit:String})"
_END = "toDateTime64(addMonths({month:Date}, 1), 3, 'Asia/Ho_Chi_Minh')"
_FINISHED = "finished_at IS NOT NULL AND toStartOfMonth(finished_at) = {month:Date}"
_OPEN_AT_END = f"received_at < {_END} AND (finished_at IS NULL OR finished_at >= {_END})"
COUNTS = ("finished", "portal_overdue", "legal_overdue", "hidden", "open_portal_overdue", "open_legal_overdue",
          "later", "earlier")


@dataclass
class AuditUnit:
    unit: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))


@dataclass
class HiddenLate:
    """Finished in the month: on time by the promised date, late by the legal due time."""

    dossier_id: str
    unit: str
    procedure_code: str
    promised_at: datetime
    due_at: datetime
    finished_at: datetime


@dataclass
class AuditData:
    month: date
    promises: int  # dossiers of the month with a promised date at all
    units: list[AuditUnit]
    hidden: list[HiddenLate]


def load_audit(client: Any, database: str, month: date, unit: str | None = None) -> AuditData:
    db = check_identifier(database)
    params = {"month": month, "unit": unit or ""}
    q = client.query(f"""
        SELECT unit,
               countIf({_FINISHED} AND promised_at IS NOT NULL)                          AS finished,
               countIf({_FINISHED} AND portal_classification = 'overdue')                AS portal_overdue,
               countIf({_FINISHED} AND promised_at IS NOT NULL AND classification = 'overdue') AS legal_overdue,
               countIf({_FINISHED} AND portal_classification IN ('early', 'on_time')
                       AND classification = 'overdue')                                           AS hidden,
               countIf({_OPEN_AT_END} AND promised_at IS NOT NULL AND toDate(promised_at) < toDate({_END})) AS open_portal_overdue,
               countIf(({_FINISHED} OR {_OPEN_AT_END}) AND promise = 'later')              AS later,
               countIf(({_FINISHED} OR {_OPEN_AT_END}) AND promise = 'earlier')            AS earlier,
               countIf(({_FINISHED} OR {_OPEN_AT_END}) AND promised_at IS NOT NULL)       AS promises
        FROM {db}.due_date_audit
        WHERE {_SCOPE}
        GROUP BY unit ORDER BY unit""", parameters=params)
    units: dict[str, AuditUnit] = {}
    promises = 0
    for row in q.result_rows:
        r = dict(zip(q.column_names, row))
        promises += int(r["promises"])
        if r["promises"]:
            units[r["unit"]] = AuditUnit(r["unit"], {k: int(r.get(k) or 0) for k in COUNTS})
    legal = client.query(f"SELECT unit, open_overdue_at_month_end FROM {db}.monthly_report "
                         f"WHERE month = {{month:Date}} AND {_SCOPE}", parameters=params).result_rows
    for u, n in legal:
        if u in units:
            units[u].counts["open_legal_overdue"] = int(n)
    rows = client.query(f"""
        SELECT dossier_id, unit, procedure_code, promised_at, due_at, finished_at
        FROM {db}.due_date_audit
        WHERE {_SCOPE} AND {_FINISHED} AND portal_classification IN ('early', 'on_time')
          AND classification = 'overdue'
        ORDER BY dateDiff('day', toDate(due_at), toDate(promised_at)) DESC, dossier_id
        LIMIT {LISTED}""", parameters=params).result_rows
    return AuditData(month, promises, list(units.values()), [HiddenLate(*r) for r in rows])

