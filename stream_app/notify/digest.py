"""The morning digest's figures, read from the store (like the live page's queries).

On a working day at `DOSSIER_MAIL_DIGEST_AT` (07:00 local) each unit gets the
dossiers that need it today, in five sections: due today; warned (due on the
next working day, so warned today, or a standing `sla_warning` due later); overdue;
left open after completion; missing their electronic result. Every row comes from ClickHouse (`dossier_state` and the
standing alerts), so the digest covers every worker's partitions. A unit's
digest holds the dossiers it received or holds now; the task force's holds
them all. Values travel as query parameters; only the checked database name is
formatted into SQL. Functions block: the worker runs them in the pipeline's
executor, which owns every chDB call.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from stream_app.notify.recipients import TASK_FORCE
from stream_app.store.client import check_identifier

SECTIONS = ("due_today", "warned", "overdue", "open_after_completion", "missing_result")
# The most dossiers a section lists in one e-mail; the count is always the full one.
LISTED = 200


def _standing(kind: str) -> str:
    return f"dossier_id IN (SELECT dossier_id FROM {{db}}.alerts FINAL WHERE kind = '{kind}' AND NOT retracted)"


_WHERE = {
    "due_today": "finished_at IS NULL AND classification = 'open' AND due_at IS NOT NULL "
                 "AND toDate(due_at) = {day:Date}",
    # Due on the next working day: their warning comes today (at 07:00 every standing warning
    # is of a dossier due today, so "warned" is what the day will warn about), or has come.
    "warned": "finished_at IS NULL AND classification = 'open' AND due_at IS NOT NULL "
              "AND toDate(due_at) > {day:Date} AND (toDate(due_at) <= {next_day:Date} OR "
              + _standing("sla_warning") + ")",
    "overdue": "finished_at IS NULL AND classification = 'open_overdue'",
    "open_after_completion": "finished_at IS NULL AND " + _standing("open_after_completion"),
    "missing_result": "finished_at IS NOT NULL AND result_attached_at IS NULL AND " + _standing("missing_result"),
}


def _condition(section: str, db: str) -> str:
    return _WHERE[section].replace("{db}", db)


def digest_rows(client: Any, database: str, day: date, next_day: date) -> dict[str, list[dict[str, Any]]]:
    """Every section's dossiers on `day` (local; `next_day` the working day after it), most urgent first."""
    db = check_identifier(database)
    out = {}
    for section in SECTIONS:
        q = client.query(
            "SELECT dossier_id, procedure_code, toString(ifNull(receiving_unit, '')) AS receiving_unit, "
            "toString(ifNull(current_unit, '')) AS current_unit, due_at "
            f"FROM {db}.dossier_state FINAL WHERE received_at IS NOT NULL AND "
            f"{_condition(section, db)} ORDER BY ifNull(due_at, received_at), dossier_id",
            parameters={"day": day, "next_day": next_day},
        )
        out[section] = [dict(zip(q.column_names, r)) for r in q.result_rows]
    return out


def for_group(rows: dict[str, list[dict[str, Any]]], group: str, day: date, at: datetime) -> dict[str, Any]:
    """One recipient group's digest as the outbox keeps it (the e-mail is rendered from this):
    per section the full count and the first `LISTED` dossiers."""
    sections = {}
    for section, found in rows.items():
        mine = found if group == TASK_FORCE else [r for r in found if group in (r["receiving_unit"],
                                                                                  r["current_unit"])]
        sections[section] = {
            "count": len(mine),
            "dossiers": [{**r, "due_at": r["due_at"].isoformat(timespec="milliseconds") if r["due_at"] else None}
                         for r in mine[:LISTED]],
        }
    by_unit: dict[str, dict[str, int]] = {}
    if group == TASK_FORCE:
        for section, found in rows.items():
            for r in found:
                by_unit.setdefault(r["receiving_unit"], dict.fromkeys(SECTIONS, 0))[section] += 1
    return {"type": "morning_digest", "day": day.isoformat(), "at": at.isoformat(timespec="seconds"),
            "group": group, "sections": sections, "by_unit": dict(sorted(by_unit.items()))}
