"""The monthly report's figures, read from the analytics views (store/views.sql).

`load_month(client, db, month, unit)` runs three parameterised queries: the
`monthly_report` rows of the month and the month before (or of the last
`history_months` months, for the charts); the dossiers finished in the month,
counted by procedure and by the unit that held the overdue ones past their
share; and the dossiers open and overdue at the end of the month; then
`dossiers.load_named` reads the dossiers the remedies list. Each query lets
ClickHouse filter to the month before the heavy work. Province totals are sums
of the unit rows with every rate recomputed from the sums (never an average of
rates). The previous month "has data" when something was finished in it: a
store's first month is compared with nothing rather than with the warm-up
month before it, where only the dossiers still open at the store's start were
received and none was finished. Nothing here formats or translates: see
`sections` for the words and `render`, `word` for the formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from stream_app.report.dossiers import NamedDossiers, load_named
from stream_app.report.audit import load_audit
from stream_app.store.client import check_identifier

COUNTS = (
    "received", "finished", "finished_early", "finished_on_time", "finished_overdue",
    "open_at_month_end", "open_overdue_at_month_end", "digitisable", "digitised",
    "payments", "payments_online", "overdue_tax", "overdue_open_after_completion",
    "overdue_supplement", "overdue_unit_held",
)
CAUSES = ("overdue_tax", "overdue_open_after_completion", "overdue_supplement", "overdue_unit_held")

# "Overdue at the period end", as the views define it (see store/views.sql).
_OVERDUE_AT_END = (
    "arrayExists(b -> b <= period_end AND NOT arrayExists(r -> r > b AND r < period_end, restart_times), "
    "breach_times)"
)
_OPEN_AT_END = "received_at < period_end AND (finished_at IS NULL OR finished_at >= period_end)"
_PERIOD_END = "toDateTime64(addMonths({month:Date}, 1), 3, 'Asia/Ho_Chi_Minh') AS period_end"
_UNIT = "({unit:String} = '' OR unit = {unit:String})"


@dataclass
class Figures:
    """Counts of one month (a unit or the province) and the rates built from them."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    def add(self, row: dict[str, Any]) -> None:
        for k in COUNTS:
            self.counts[k] += int(row[k])

    @staticmethod
    def _ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    @property
    def overdue_rate(self) -> float | None:
        return self._ratio(self["finished_overdue"], self["finished"])

    @property
    def overdue_total(self) -> int:
        """Finished overdue in the month plus still open and overdue at its end."""
        return self["finished_overdue"] + self["open_overdue_at_month_end"]

    @property
    def timeliness_score(self) -> float | None:
        good = self["finished_early"] + self["finished_on_time"] + self["open_at_month_end"] \
            - self["open_overdue_at_month_end"]
        denominator = self["finished"] + self["open_at_month_end"]
        return 20 * good / denominator if denominator else None

    @property
    def digitised_rate(self) -> float | None:
        return self._ratio(self["digitised"], self["digitisable"])

    @property
    def online_payment_rate(self) -> float | None:
        return self._ratio(self["payments_online"], self["payments"])


@dataclass
class UnitMonth:
    unit: str
    now: Figures
    before: Figures


@dataclass
class ProcedureMonth:
    procedure_code: str
    finished: int
    finished_overdue: int
    open_overdue: int

    @property
    def overdue_rate(self) -> float | None:
        return self.finished_overdue / self.finished if self.finished else None


@dataclass
class StillOverdue:
    """A dossier open and overdue at the end of the month."""

    dossier_id: str
    procedure_code: str
    unit: str
    current_unit: str
    received_at: datetime
    due_at: datetime | None
    finished_at: datetime | None
    overdue_cause: str | None


@dataclass
class MonthData:
    month: date
    previous: date
    unit: str | None
    watermark: datetime | None
    units: list[UnitMonth]
    total: Figures
    total_before: Figures
    procedures: list[ProcedureMonth]
    held: list[tuple[str, int, float]]  # (unit, overdue dossiers attributed, working hours it held them)
    still_overdue: list[StillOverdue]
    named: NamedDossiers = field(default_factory=NamedDossiers)
    # (month, unit, finished, finished_overdue) of the last months up to `month`, oldest first;
    # empty unless asked for (the charts).
    history: list[tuple[date, str, int, int]] = field(default_factory=list)
    audit: Any = None  # report.audit.AuditData: the due-date audit (issue 21)

    @property
    def has_data(self) -> bool:
        return bool(self.units)

    @property
    def has_previous(self) -> bool:
        """Whether the month before has figures to compare with: something was finished in it."""
        return self.total_before["finished"] > 0


def previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def last_months(month: date, n: int) -> list[date]:
    """The `n` months up to and including `month`, oldest first."""
    out = [month]
    while len(out) < n:
        out.insert(0, previous_month(out[0]))
    return out


def load_month(client: Any, database: str, month: date, unit: str | None = None, *,
               history_months: int = 0) -> MonthData:
    db = check_identifier(database)
    prev = previous_month(month)
    months = last_months(month, max(history_months, 2))
    params: dict[str, Any] = {"month": month, "prev": prev, "unit": unit or ""}
    params.update({f"m{i}": m for i, m in enumerate(months)})
    in_months = ", ".join(f"{{m{i}:Date}}" for i in range(len(months)))

    def rows(sql: str) -> list[dict[str, Any]]:
        q = client.query(sql, parameters=params)
        return [dict(zip(q.column_names, r)) for r in q.result_rows]

    by_unit: dict[str, UnitMonth] = {}
    history: list[tuple[date, str, int, int]] = []
    # `month IN (…)` is the filter the view pushes down to each month's rows (views.sql).
    for r in rows(f"SELECT * FROM {db}.monthly_report WHERE month IN ({in_months}) AND {_UNIT} ORDER BY month, unit"):
        if history_months:
            history.append((r["month"], r["unit"], int(r["finished"]), int(r["finished_overdue"])))
        if r["month"] not in (month, prev):
            continue
        um = by_unit.setdefault(r["unit"], UnitMonth(r["unit"], Figures(), Figures()))
        (um.now if r["month"] == month else um.before).add(r)
    units = [u for u in by_unit.values() if any(u.now.counts.values()) or any(u.before.counts.values())]
    total, total_before = Figures(), Figures()
    for u in units:
        total.add(u.now.counts)
        total_before.add(u.before.counts)

    # The dossiers finished in the month, folded in SQL by procedure, overdue or not, and
    # the unit an overdue one is attributed to: dossier_state alone (the same rows and
    # columns as dossier_facts, without its breach and restart times, not needed here).
    procedures: dict[str, ProcedureMonth] = {}
    held: dict[str, list[float]] = {}
    finished = rows(f"""
            SELECT ifNull(procedure_code, '') AS procedure_code,
                   classification = 'overdue' AS overdue,
                   toString(ifNull(overdue_unit, '')) AS overdue_unit,
                   count() AS dossiers,
                   sum(unit_hours[overdue_unit]) AS held_hours
            FROM {db}.dossier_state FINAL
            WHERE received_at IS NOT NULL AND toStartOfMonth(finished_at) = {{month:Date}}
              AND ({{unit:String}} = '' OR toString(ifNull(receiving_unit, '')) = {{unit:String}})
            GROUP BY procedure_code, overdue, overdue_unit""")
    # The dossiers open and overdue at the end of the month, each with the due date it had
    # then. Being open at the end is a condition on dossier_state alone, so it is applied
    # before the breach and restart times are joined in.
    overdue = rows(f"""
            WITH {_PERIOD_END}
            SELECT dossier_id, procedure_code, unit, current_unit, received_at, finished_at,
                   toString(ifNull(overdue_cause, '')) AS overdue_cause,
                   arrayElement(arrayFilter((d, b) -> b <= period_end, breach_due_at, breach_times), -1) AS due_then
            FROM {db}.dossier_facts
            WHERE {_UNIT} AND {_OPEN_AT_END} AND {_OVERDUE_AT_END}
            ORDER BY due_then, dossier_id""")
    for code in sorted({r["procedure_code"] for r in finished} | {r["procedure_code"] for r in overdue}):
        procedures[code] = ProcedureMonth(code, 0, 0, 0)
    for r in finished:
        p = procedures[r["procedure_code"]]
        p.finished += int(r["dossiers"])
        if r["overdue"]:
            p.finished_overdue += int(r["dossiers"])
            h = held.setdefault(r["overdue_unit"], [0, 0.0])
            h[0] += int(r["dossiers"])
            h[1] += r["held_hours"]
    still: list[StillOverdue] = []
    for r in overdue:
        procedures[r["procedure_code"]].open_overdue += 1
        still.append(StillOverdue(r["dossier_id"], r["procedure_code"], r["unit"], r["current_unit"],
                                  r["received_at"], r["due_then"], r["finished_at"], r["overdue_cause"] or None))
    held_rows = sorted(((u, int(n), round(hours, 1)) for u, (n, hours) in held.items()),
                       key=lambda h: (-h[1], -h[2], h[0]))
    mark = client.query(f"SELECT max(watermark) FROM {db}.stream_progress FINAL").result_rows
    watermark = mark[0][0] if mark and mark[0][0] and mark[0][0].year > 1970 else None
    return MonthData(month, prev, unit, watermark, units, total, total_before, list(procedures.values()),
                     held_rows, still, named=load_named(client, database, month, prev, unit), history=history,
                     audit=load_audit(client, database, month, unit))
