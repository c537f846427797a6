"""The generator's ground truth: every dossier judged by the rules, independently of the pipeline.

The generator decides every story, so it can also judge every dossier by the rules
of the legal clock — due time in working time, the land clock paused during tax,
restarted after a supplement, classification by local date — with its own small
arithmetic (`due_by_rules`), not the domain's state machine. `judge` counts one
dossier's written events into `GenerateStats`, which tests and demos hold the
pipeline's numbers against.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.domain.dossier import DEFAULT_TAX_LIMIT_DAYS

WORKING_DAY = timedelta(hours=8)


@dataclass
class UnitStats:
    """Ground-truth counts for one receiving unit (or one month, or the province).

    ``received`` counts the period's intake by month of intake, the ``finished`` family
    by month of finishing (concluded or withdrawn), including dossiers of the lead-in;
    withdrawn and no-limit dossiers count on time. ``open``/``open_overdue`` are as of
    the end of the period. The other counters count dossiers of the whole file (lead-in
    included), judged on the written events by the rules the alerts use. Month rows
    carry only ``received`` and the ``finished`` family.
    """

    received: int = 0
    finished: int = 0
    early: int = 0
    on_time: int = 0
    overdue: int = 0
    withdrawn: int = 0
    rejected: int = 0
    open: int = 0
    open_overdue: int = 0
    online: int = 0
    unknown_procedure: int = 0
    transfer_inheritance: int = 0  # procedure 1.012711 (transfer, inheritance, gift)
    transfer_inheritance_to_tax: int = 0
    sent_to_tax: int = 0
    late_tax_notice: int = 0  # tax notice issued after the tax limit, or not by the end
    supplement: int = 0
    moved: int = 0  # transferred to another unit at least once
    extended: int = 0
    late_extension: int = 0  # <1 working day before due, after it, or a second letter
    left_open: int = 0  # not concluded 1 working day after its first result (attached/returned)
    missing_result: int = 0  # approved without an electronic result attached

    @property
    def overdue_rate(self) -> float:
        return self.overdue / self.finished if self.finished else 0.0

    def add(self, other: UnitStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class GenerateStats:
    """What ``generate`` wrote, and the ground truth of every dossier in it."""

    start: date
    end: date  # exclusive: the period is [start, end)
    dossiers: int = 0
    events: int = 0  # valid event lines, each once
    duplicates: int = 0  # exact repeats of a valid line
    malformed: int = 0  # lines that are not valid events
    envelopes: int = 0  # --format dvcqg: sync envelopes written, each once
    personal: set[str] = field(default_factory=set)  # --format dvcqg: every fake personal value written
    last_event_at: datetime | None = None
    units: dict[str, UnitStats] = field(default_factory=dict)  # by receiving unit
    months: dict[date, UnitStats] = field(default_factory=dict)  # first day of the month

    @property
    def lines(self) -> int:
        return self.events + self.duplicates + self.malformed

    @property
    def total(self) -> UnitStats:
        total = UnitStats()
        for stats in self.units.values():
            total.add(stats)
        return total


class StoryEvent(NamedTuple):
    """One event of a dossier's story, as the generator decides it."""

    at: datetime
    type: str
    agency: str
    fields: dict[str, Any]


def due_by_rules(cal: WorkingCalendar, events: list[StoryEvent], limit: float | None) -> tuple[datetime | None, bool]:
    """(due_at, paused) after ``events``: the clock restarts from zero after a supplement
    and the land clock pauses from sent_to_tax to obligation_paid (docs/domain.md)."""
    due: datetime | None = None
    paused, held, remaining = False, None, timedelta(0)
    if limit is None:
        return None, False
    for e in events:
        if e.type == "received":
            due = cal.add_days(e.at, limit)
        elif e.type == "supplement_requested":
            due, paused = None, True
        elif e.type == "supplement_received":
            due, paused = cal.add_days(e.at, limit), False
        elif e.type == "sent_to_tax" and not paused:
            held, remaining = due, cal.between(e.at, due) if due else timedelta(0)
            due, paused = None, True
        elif e.type == "obligation_paid" and paused and held is not None:
            # Sent to tax after the due time: nothing remains, the old due time stands.
            due, paused = (cal.add(e.at, remaining) if remaining else held), False
    return due, paused


def judge(cal: WorkingCalendar, catalog: Catalog, events: list[StoryEvent], end: datetime,
           stats: GenerateStats) -> None:
    """Count one dossier's written events into the ground truth."""
    unit, received = events[0].agency, events[0]
    code = received.fields["procedure_code"]
    proc = catalog.lookup(code, cal.local_date(received.at))
    limit = proc.limit_working_days if proc else None
    row = stats.units.setdefault(unit, UnitStats())
    in_period = cal.local_date(received.at) >= stats.start
    for r in [row, _month_row(stats, cal.local_date(received.at))] if in_period else []:
        r.received += 1
        r.online += received.fields["channel"] == "online"
        r.unknown_procedure += proc is None
    by_type: dict[str, list[StoryEvent]] = {}
    for e in events:
        by_type.setdefault(e.type, []).append(e)
    first = {t: es[0].at for t, es in by_type.items()}
    if code == "1.012711":
        row.transfer_inheritance += 1
        row.transfer_inheritance_to_tax += "sent_to_tax" in first
    row.sent_to_tax += "sent_to_tax" in first
    row.supplement += "supplement_requested" in first
    row.moved += "transferred" in first
    if "sent_to_tax" in first:
        tax_due = cal.add_days(first["sent_to_tax"], tax_limit(catalog, code, cal.local_date(first["sent_to_tax"])))
        notice = first.get("tax_notice_issued")
        row.late_tax_notice += tax_due < end and (notice is None or notice > tax_due)
    finish = first.get("concluded") or first.get("withdrawn")
    if finish is None:
        due, _ = due_by_rules(cal, events, limit)
        row.open += 1
        row.open_overdue += due is not None and cal.local_date(due) < end.date()
    else:
        due, _ = due_by_rules(cal, [e for e in events if e.at <= finish], limit)
        finished_on, due_on = cal.local_date(finish), (cal.local_date(due) if due else None)
        month = _month_row(stats, finished_on)
        for r in (row, month):
            r.finished += 1
            if "withdrawn" in first or due_on is None or finished_on == due_on:
                r.on_time += 1
            elif finished_on < due_on:
                r.early += 1
            else:
                r.overdue += 1
        row.withdrawn += "withdrawn" in first
        outcome = by_type["concluded"][0].fields["outcome"] if "concluded" in first else None
        row.rejected += outcome == "rejected"
        row.missing_result += outcome == "approved" and "result_attached" not in first
    results = [first[t] for t in ("result_attached", "result_returned") if t in first]
    if results:
        alarm = cal.add(min(results), WORKING_DAY)
        concluded = first.get("concluded")
        row.left_open += alarm < end and (concluded is None or concluded > alarm)
    letters = by_type.get("extended", [])
    row.extended += bool(letters)
    if letters:
        due, _ = due_by_rules(cal, [e for e in events if e.at <= letters[0].at], limit)
        late = due is None or letters[0].at >= due or cal.between(letters[0].at, due) < WORKING_DAY
        row.late_extension += late or len(letters) > 1


def tax_limit(catalog: Catalog, code: str, on: date) -> float:
    """The tax authority's limit in force on the day of the slip (5 days by default)."""
    proc = catalog.lookup(code, on)
    return (proc.tax_limit_working_days if proc else None) or DEFAULT_TAX_LIMIT_DAYS


def _month_row(stats: GenerateStats, day: date) -> UnitStats:
    return stats.months.setdefault(day.replace(day=1), UnitStats())
