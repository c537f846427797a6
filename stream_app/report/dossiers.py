"""The dossiers the report's remedies name, read from the store for one month.

`load_named(client, db, month, unit)` reads, in one pass over `dossier_state`
(plus a look-up of the tax offices, and one query of `alerts`), the
dossiers finished overdue in the month (cause, the unit that held them past its
share and for how long); those delayed at the tax authority (finished overdue
for that cause, or still waiting for the payment notice past the tax limit at
the end of the month) with the tax office they were sent to; those left open
after completion at the end of the month (their `open_after_completion` alert
had fired and they were still open); and the standing `late_extension` and
`missing_result` alerts fired in the month and the month before (counted by
the local month of `fires_at`). Everything is scoped to the receiving unit
when one is given. Nothing here formats or translates.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from stream_app.store.client import check_identifier, in_chunks

ALERT_KINDS = ("late_extension", "missing_result")

_PERIOD_END = "toDateTime64(addMonths({month:Date}, 1), 3, 'Asia/Ho_Chi_Minh')"
_OPEN_AT_END = f"received_at < {_PERIOD_END} AND (finished_at IS NULL OR finished_at >= {_PERIOD_END})"
_SCOPE = "({unit:String} = '' OR toString(ifNull(receiving_unit, '')) = {unit:String})"


@dataclass(frozen=True)
class Named:
    """A dossier a remedy lists: who acts on it and what it is about."""

    dossier_id: str
    unit: str  # the unit that acts: holding it, closing it, or (cause `unit`) the one that held it too long
    receiving_unit: str
    detail: str = ""  # the overdue cause, or the tax office it was sent to
    pending: bool = False  # still to act on at the end of the month
    hours: float = 0.0  # working hours `unit` held it (cause `unit`)


@dataclass
class NamedDossiers:
    finished_overdue: list[Named] = field(default_factory=list)
    tax_delayed: list[Named] = field(default_factory=list)
    left_open: list[Named] = field(default_factory=list)
    alerts: dict[str, list[Named]] = field(default_factory=lambda: {k: [] for k in ALERT_KINDS})
    alerts_before: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALERT_KINDS, 0))


def load_named(client: Any, database: str, month: date, previous: date, unit: str | None) -> NamedDossiers:
    db = check_identifier(database)
    params = {"month": month, "prev": previous, "unit": unit or ""}

    def rows(sql: str) -> list[dict[str, Any]]:
        q = client.query(sql, parameters=params)
        return [dict(zip(q.column_names, r)) for r in q.result_rows]

    out = NamedDossiers()
    # One pass over dossier_state for the three lists, each row flagged with the lists it is in.
    tax_ids: list[str] = []
    for r in rows(f"""
            SELECT dossier_id, toString(ifNull(receiving_unit, '')) AS receiving_unit,
                   toString(ifNull(current_unit, '')) AS current_unit,
                   toString(ifNull(overdue_unit, '')) AS overdue_unit,
                   toString(ifNull(overdue_cause, '')) AS cause,
                   unit_hours[toString(ifNull(overdue_unit, ''))] AS held_hours,
                   classification = 'overdue' AND toStartOfMonth(finished_at) = {{month:Date}} AS finished_overdue,
                   ({_OPEN_AT_END}) AS open_at_end,
                   sent_to_tax_at IS NOT NULL
                     AND ((finished_overdue AND overdue_cause = 'tax')
                          OR (open_at_end AND tax_due_at < {_PERIOD_END}
                              AND (tax_notice_at IS NULL OR tax_notice_at >= {_PERIOD_END}))) AS tax_delayed,
                   open_at_end AND dossier_id IN (SELECT dossier_id FROM {db}.alerts FINAL
                                                  WHERE kind = 'open_after_completion' AND NOT retracted
                                                    AND fires_at < {_PERIOD_END}) AS left_open
            FROM {db}.dossier_state FINAL
            WHERE {_SCOPE} AND (finished_overdue OR tax_delayed OR left_open)
            ORDER BY dossier_id"""):
        receiving = r["receiving_unit"]
        if r["finished_overdue"]:
            acting = r["overdue_unit"] if r["cause"] == "unit" else receiving
            out.finished_overdue.append(Named(r["dossier_id"], acting or receiving, receiving, r["cause"],
                                              hours=float(r["held_hours"] or 0.0)))
        if r["tax_delayed"]:
            out.tax_delayed.append(Named(r["dossier_id"], receiving, receiving, pending=bool(r["open_at_end"])))
            tax_ids.append(r["dossier_id"])
        if r["left_open"]:
            out.left_open.append(Named(r["dossier_id"], r["current_unit"] or receiving, receiving, pending=True))
    if tax_ids:
        # The tax office of each delayed dossier: that of its latest slip before the month's end.
        offices: dict[str, str] = {}
        for ids in in_chunks(tax_ids, client):
            params["ids"] = ids
            offices.update((r["dossier_id"], r["tax_office"]) for r in rows(f"""
                SELECT dossier_id, ifNull(argMax(tax_office, occurred_at), '') AS tax_office
                FROM {db}.events
                WHERE event_type = 'sent_to_tax' AND occurred_at < {_PERIOD_END} AND has({{ids:Array(String)}}, dossier_id)
                GROUP BY dossier_id"""))
        del params["ids"]
        out.tax_delayed = [replace(n, detail=offices.get(n.dossier_id, "")) for n in out.tax_delayed]
    for r in rows(f"""
            SELECT toStartOfMonth(fires_at) = {{month:Date}} AS this_month, kind, dossier_id,
                   toString(ifNull(unit, '')) AS unit, toString(ifNull(receiving_unit, '')) AS receiving_unit
            FROM {db}.alerts FINAL
            WHERE NOT retracted AND kind IN ('late_extension', 'missing_result')
              AND toStartOfMonth(fires_at) IN ({{month:Date}}, {{prev:Date}}) AND {_SCOPE}
            ORDER BY fires_at, dossier_id"""):
        if r["this_month"]:
            out.alerts[r["kind"]].append(Named(r["dossier_id"], r["unit"] or r["receiving_unit"],
                                               r["receiving_unit"]))
        else:
            out.alerts_before[r["kind"]] += 1
    return out
