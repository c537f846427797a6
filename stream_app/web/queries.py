"""Parameterised SQL behind the live page; every number is read from ClickHouse.

The store holds the rows of every partition, whichever worker wrote them, so
these queries are right with one worker or many: nothing here reads the
processor's memory. Values travel as query parameters (times as epoch
milliseconds), never pasted into SQL; only the database name, checked as an
identifier, is. Functions block (chDB or HTTP): the views run them through the
pipeline's single executor, which owns every chDB call.

"Now" is the store's event-time clock: the stream watermark in
`stream_progress` (the wall clock once a live worker has caught up, `--as-of`
after a replay), so a replayed province reads as it stood at its last event.

Every query that returns dossiers, counts or alerts takes the reader's `Scope`
and keeps only the dossiers it may see (`_visible`: the receiving or the current
unit is one of theirs, the rule of `domain.access.Scope.sees`), in SQL, so that
nothing outside it ever leaves the store.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from stream_app.domain.access import Scope
from stream_app.domain.calendar import WorkingCalendar
from stream_app.store.client import check_identifier

# The columns of the unit table, in page order. `due_soon` is decided in Python
# with the working-time calendar; the others are SQL conditions on dossier_state.
METRICS = ("open", "due_soon", "overdue", "open_after_completion", "tax_overdue")

_CONDITIONS = {
    "open": "finished_at IS NULL",
    "overdue": "finished_at IS NULL AND classification = 'open_overdue'",
    # An alert that still stands (not retracted) for a dossier that is still open.
    "open_after_completion": (
        "finished_at IS NULL AND dossier_id IN "
        "(SELECT dossier_id FROM {db}.alerts FINAL WHERE kind = 'open_after_completion' AND NOT retracted)"
    ),
    # Still no tax notice, and the tax_overdue alert of the current tax due time stands.
    "tax_overdue": (
        "finished_at IS NULL AND sent_to_tax_at IS NOT NULL AND tax_notice_at IS NULL "
        "AND tax_due_at IS NOT NULL AND (dossier_id, assumeNotNull(tax_due_at)) IN "
        "(SELECT dossier_id, fires_at FROM {db}.alerts FINAL WHERE kind = 'tax_overdue' AND NOT retracted)"
    ),
    # Clock running, not breached: the candidates for "due within one working day".
    "due_soon": (
        "finished_at IS NULL AND status = 'open' AND classification = 'open' AND due_at IS NOT NULL "
        "AND due_at <= fromUnixTimestamp64Milli({horizon_ms:Int64}, 'Asia/Ho_Chi_Minh')"
    ),
}
# One working day never spans more calendar days than this (Tết included).
_HORIZON = timedelta(days=45)
_UNIT = "toString(ifNull(receiving_unit, ''))"


def _visible(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The SQL condition on `dossier_state` rows the scope may see, and its parameter."""
    if scope.units is None:
        return "1", {}
    return ("(has({scope_units:Array(String)}, toString(ifNull(receiving_unit, ''))) "
            "OR has({scope_units:Array(String)}, toString(ifNull(current_unit, ''))))",
            {"scope_units": sorted(scope.units)})


def _condition(metric: str, db: str) -> str:
    return _CONDITIONS[metric].replace("{db}", db)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _rows(client: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    q = client.query(sql, parameters=params)
    return [dict(zip(q.column_names, r)) for r in q.result_rows]


def store_clock(client: Any, database: str) -> tuple[datetime | None, datetime | None]:
    """(the stream watermark, the latest event time) in the store; None when empty."""
    db = check_identifier(database)
    rows = client.query(
        f"SELECT (SELECT if(count() = 0, NULL, max(watermark)) FROM {db}.stream_progress "
        f"WHERE name = 'watermark'), (SELECT if(count() = 0, NULL, max(occurred_at)) FROM {db}.events)"
    ).result_rows
    return (rows[0][0], rows[0][1]) if rows else (None, None)


def is_due_soon(due_at: datetime, as_of: datetime, calendar: WorkingCalendar, warning: timedelta) -> bool:
    """At most `warning` working time (1 working day) is left before `due_at` at `as_of`."""
    return calendar.between(as_of, due_at) <= warning


def unit_summary(
    client: Any, database: str, as_of: datetime, calendar: WorkingCalendar, warning: timedelta, scope: Scope,
) -> dict[str, dict[str, int]]:
    """Per receiving unit: open, due_soon, overdue, open_after_completion, tax_overdue."""
    db = check_identifier(database)
    counts = ", ".join(f"countIf({_condition(m, db)}) AS {m}" for m in METRICS if m != "due_soon")
    visible, params = _visible(scope)
    out: dict[str, dict[str, int]] = {}
    for r in _rows(client, f"SELECT {_UNIT} AS unit, {counts} FROM {db}.dossier_state FINAL "
                           f"WHERE received_at IS NOT NULL AND {visible} GROUP BY unit ORDER BY unit", **params):
        unit = r.pop("unit")
        out[unit] = {m: int(r.get(m, 0)) for m in METRICS}
    for r in _due_candidates(client, db, as_of, scope):
        if is_due_soon(r["due_at"], as_of, calendar, warning):
            out.setdefault(r["unit"], dict.fromkeys(METRICS, 0))["due_soon"] += 1
    return out


def _due_candidates(client: Any, db: str, as_of: datetime, scope: Scope,
                    unit: str | None = None) -> list[dict[str, Any]]:
    visible, params = _visible(scope)
    where = f"{_condition('due_soon', db)} AND {visible}"
    params["horizon_ms"] = _ms(as_of + _HORIZON)
    if unit is not None:
        where += f" AND {_UNIT} = {{unit:String}}"
        params["unit"] = unit
    return _rows(client, f"SELECT {_UNIT} AS unit, dossier_id, due_at FROM {db}.dossier_state FINAL "
                         f"WHERE received_at IS NOT NULL AND {where}", **params)


def metric_dossiers(
    client: Any, database: str, unit: str, metric: str, as_of: datetime,
    calendar: WorkingCalendar, warning: timedelta, scope: Scope, limit: int = 500,
) -> list[dict[str, Any]]:
    """The dossiers behind one cell of the unit table (most urgent first)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    db = check_identifier(database)
    visible, params = _visible(scope)
    if metric == "due_soon":
        ids = [r["dossier_id"] for r in _due_candidates(client, db, as_of, scope, unit)
               if is_due_soon(r["due_at"], as_of, calendar, warning)]
        where, params["ids"] = "dossier_id IN {ids:Array(String)}", ids
    else:
        where = _condition(metric, db)
    where += f" AND {visible}"
    return _rows(
        client,
        f"SELECT dossier_id, procedure_code, toString(ifNull(current_unit, '')) AS current_unit, status, "
        f"received_at, due_at, extended_due_at, sent_to_tax_at, tax_due_at, classification "
        f"FROM {db}.dossier_state FINAL WHERE received_at IS NOT NULL AND {_UNIT} = {{unit:String}} AND {where} "
        f"ORDER BY ifNull(due_at, received_at), dossier_id LIMIT {{limit:UInt32}}",
        unit=unit, limit=limit, **params,
    )


def latest_alerts(client: Any, database: str, scope: Scope, limit: int = 40) -> list[dict[str, Any]]:
    """The latest alerts by the time they fire (retracted ones included, marked), of visible dossiers."""
    db = check_identifier(database)
    visible, params = _visible(scope)
    where = "" if scope.units is None else (
        f"WHERE dossier_id IN (SELECT dossier_id FROM {db}.dossier_state FINAL WHERE {visible}) ")
    return _rows(
        client,
        f"SELECT alert_id, toString(kind) AS kind, dossier_id, toString(ifNull(unit, '')) AS unit, "
        f"toString(ifNull(receiving_unit, '')) AS receiving_unit, fires_at, emitted_at, due_at, message, retracted "
        f"FROM {db}.alerts FINAL {where}ORDER BY fires_at DESC, emitted_at DESC, alert_id LIMIT {{limit:UInt32}}",
        limit=limit, **params,
    )


def daily_overdue(client: Any, database: str, first: date, last: date, scope: Scope) -> list[dict[str, Any]]:
    """Per receiving unit and local day of finishing: finished and finished overdue."""
    db = check_identifier(database)
    visible, params = _visible(scope)
    return _rows(
        client,
        f"SELECT {_UNIT} AS unit, toDate(finished_at) AS day, count() AS finished, "
        f"countIf(classification = 'overdue') AS overdue FROM {db}.dossier_state FINAL "
        f"WHERE finished_at IS NOT NULL AND received_at IS NOT NULL AND {visible} "
        f"AND toDate(finished_at) BETWEEN {{first:Date}} AND {{last:Date}} "
        f"GROUP BY unit, day ORDER BY unit, day",
        first=first, last=last, **params,
    )


def receiving_units(client: Any, database: str, scope: Scope) -> list[str]:
    db = check_identifier(database)
    visible, params = _visible(scope)
    return [r["unit"] for r in _rows(
        client, f"SELECT DISTINCT {_UNIT} AS unit FROM {db}.dossier_state FINAL "
                f"WHERE received_at IS NOT NULL AND {visible} ORDER BY unit", **params)]


def dossier(client: Any, database: str, dossier_id: str, scope: Scope) -> dict[str, Any] | None:
    """One dossier's state row, events and alerts; None if the store does not know it or
    the scope may not see it (a unit user never learns that another unit's dossier exists)."""
    db = check_identifier(database)
    visible, params = _visible(scope)
    state = _rows(client, f"SELECT * FROM {db}.dossier_state FINAL WHERE dossier_id = {{id:String}} AND {visible}",
                  id=dossier_id, **params)
    if not state and scope.units is not None:
        return None
    events = _rows(
        client,
        f"SELECT event_id, toString(event_type) AS event_type, occurred_at, toString(agency_code) AS agency_code, "
        f"procedure_code, channel, to_unit, tax_office, new_due_at, outcome, document_ref, signed "
        f"FROM {db}.events FINAL WHERE dossier_id = {{id:String}}",
        id=dossier_id,
    )
    if not state and not events:
        return None
    alerts = _rows(
        client,
        f"SELECT alert_id, toString(kind) AS kind, toString(ifNull(unit, '')) AS unit, fires_at, due_at, message, "
        f"retracted FROM {db}.alerts FINAL WHERE dossier_id = {{id:String}} ORDER BY fires_at, kind",
        id=dossier_id,
    )
    return {"state": state[0] if state else None, "events": events, "alerts": alerts}


def find_codes(client: Any, database: str, text: str, scope: Scope, limit: int = 20) -> list[str]:
    """Dossier codes containing `text` (case-insensitive) that the scope may see, for a partial
    search: the code itself first when it is one, then in order."""
    db = check_identifier(database)
    visible, params = _visible(scope)
    return [r["dossier_id"] for r in _rows(
        client,
        f"SELECT DISTINCT dossier_id FROM {db}.dossier_state FINAL "
        f"WHERE positionCaseInsensitive(dossier_id, {{q:String}}) > 0 AND {visible} "
        f"ORDER BY dossier_id != {{q:String}}, dossier_id LIMIT {{limit:UInt32}}",
        q=text, limit=limit, **params,
    )]
