"""The dossier state machine: one dossier's legal clock, folded from its events.

`DossierState.apply(event)` moves the state forward by one event in time order
and returns `None`, or the dead-letter code `invalid_transition` without
touching the state. Every rule of docs/domain.md lives here: the clock starts at
intake moved into office hours; a supplement request stops it and the complete
supplement restarts it from zero (or shifts it, by configuration); the land
clock pauses from `sent_to_tax` to `obligation_paid` while the tax authority's
own clock runs; an extension gives a new date but the dossier stays late
against its original due time; withdrawal finishes on time. Nothing here knows
of Kafka, Faust or ClickHouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.domain.codes import INVALID_TRANSITION, Classification
from stream_app.domain.events import DossierEvent

DEFAULT_TAX_LIMIT_DAYS = 5.0  # Decree 126/2020 art. 13(6), when the catalog names none
AFTER_FINISH_ALLOWED = frozenset({"result_attached", "result_returned"})


@dataclass(frozen=True)
class Rules:
    """The rules in force: calendar, catalog and the configurable choices."""

    calendar: WorkingCalendar
    catalog: Catalog
    supplement_mode: Literal["restart", "shift"] = "restart"
    warning: timedelta = timedelta(hours=8)


@dataclass(slots=True)
class DossierState:
    dossier_id: str
    procedure_code: str | None = None
    procedure_known: bool = False
    receiving_unit: str | None = None
    current_unit: str | None = None
    channel: str | None = None
    received_at: datetime | None = None
    limit: timedelta | None = None
    # The land clock: `used` working time before `running_since`; None while paused.
    running_since: datetime | None = None
    used: timedelta = timedelta(0)
    due_at: datetime | None = None
    frozen_due: bool = False  # the budget ran out before a pause: due stays put
    pause_reason: str | None = None
    cycle: int = 0  # budget cycles: a supplement restart opens a new one
    warned_cycle: bool = False
    supplement_count: int = 0
    supplement_requested_at: datetime | None = None
    # The tax authority's clock.
    sent_to_tax_at: datetime | None = None
    tax_office: str | None = None
    tax_due_at: datetime | None = None
    tax_notice_at: datetime | None = None
    paid_at: datetime | None = None
    payment_channel: str | None = None
    # Extensions: (event_id, at, late).
    extended_due_at: datetime | None = None
    extensions: list[tuple[str, datetime, bool]] = field(default_factory=list)
    # The end.
    finished_at: datetime | None = None
    outcome: str | None = None  # approved / rejected / withdrawn
    result_attached_at: datetime | None = None
    result_returned_at: datetime | None = None
    signed: bool | None = None
    # Where the working time went: (unit, since) of the current holder, and the tally.
    holder_since: datetime | None = None
    unit_hours: dict[str, float] = field(default_factory=dict)
    # `warning_at` with the (due_at, running_since, rules.warning) it was computed from:
    # most events move none of them.
    _warning: tuple[datetime, datetime, timedelta, datetime] | None = field(default=None, compare=False, repr=False)

    # ------------------------------------------------------------------ views
    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def status(self) -> str:
        if self.finished:
            return "finished"
        return "paused" if self.running_since is None and self.received_at else "open"

    @property
    def first_result_at(self) -> datetime | None:
        a, b = self.result_attached_at, self.result_returned_at
        if a is None or b is None:
            return a if b is None else b
        return min(a, b)

    def remaining_at(self, t: datetime, cal: WorkingCalendar) -> timedelta | None:
        """Working time left on the land clock at `t` (negative when overdue)."""
        if self.limit is None:
            return None
        used = self.used
        if self.running_since is not None and t > self.running_since:
            used += cal.between(self.running_since, t)
        return self.limit - used

    def warning_at(self, rules: Rules) -> datetime:
        """When `sla_warning` fires in this budget cycle: the latest moment at which
        `rules.warning` working time remains before `due_at`, or the clock's start if
        less than that remained then (docs/contract.md §2). Needs a running clock and a due time."""
        due, since, ahead = self.due_at, self.running_since, rules.warning
        assert due is not None and since is not None
        known = self._warning
        if known is None or known[0] != due or known[1] != since or known[2] != ahead:
            known = self._warning = (due, since, ahead, max(rules.calendar.subtract(due, ahead), since))
        return known[3]

    def finish_classification(self, cal: WorkingCalendar) -> Classification | None:
        if not self.finished:
            return None
        if self.outcome == "withdrawn" or self.due_at is None:
            return "on_time"
        done, due = cal.local_date(self.finished_at), cal.local_date(self.due_at)
        return "early" if done < due else "on_time" if done == due else "overdue"

    # ------------------------------------------------------------ transitions
    def apply(self, ev: DossierEvent, rules: Rules) -> str | None:
        """Apply one event (in time order); an impossible step changes nothing."""
        handler = _HANDLERS[ev.event_type]
        kind = ev.event_type
        if kind != "received" and self.received_at is None:
            return INVALID_TRANSITION
        if self.finished and kind not in AFTER_FINISH_ALLOWED:
            return INVALID_TRANSITION
        if not handler.allowed(self):
            return INVALID_TRANSITION
        handler.run(self, ev, rules)
        return None

    # Clock helpers used by the handlers.
    def _start_clock(self, t: datetime, rules: Rules) -> None:
        cal = rules.calendar
        self.running_since = cal.clock_start(t)
        self.pause_reason = None
        if self.limit is not None and not self.frozen_due:
            self.due_at = cal.add(self.running_since, self.limit - self.used)

    def _stop_clock(self, t: datetime, rules: Rules, reason: str) -> None:
        cal = rules.calendar
        self._tally_holder(t, rules)
        if self.running_since is not None:
            if self.limit is not None and not self.warned_cycle and self.due_at is not None:
                # Strictly after: a stop at the warning instant itself holds at that moment,
                # so the warning did not fire and is still owed when the clock resumes.
                self.warned_cycle = t > self.warning_at(rules)
            if t > self.running_since:
                self.used += cal.between(self.running_since, t)
        self.running_since = None
        self.pause_reason = reason
        if self.limit is not None and self.used >= self.limit:
            self.frozen_due = True  # already overdue: the due time no longer moves
        elif reason != "finished":
            self.due_at = None

    def _tally_holder(self, t: datetime, rules: Rules) -> None:
        """Credit the land clock's running time since the last handover to the unit
        holding the dossier. Paused time (with the citizen, at the tax authority)
        is nobody's share: it is not counted."""
        if self.running_since is not None and self.current_unit:
            since = max(self.holder_since or self.running_since, self.running_since)
            if t > since:
                hours = rules.calendar.between(since, t).total_seconds() / 3600
                self.unit_hours[self.current_unit] = self.unit_hours.get(self.current_unit, 0.0) + hours
        self.holder_since = t


class _Handler:
    """One event type: when it is allowed and what it does."""

    def allowed(self, s: DossierState) -> bool:
        return True

    def run(self, s: DossierState, ev: DossierEvent, rules: Rules) -> None:  # pragma: no cover
        raise NotImplementedError


class _Received(_Handler):
    def allowed(self, s):
        return s.received_at is None

    def run(self, s, ev, rules):
        cal = rules.calendar
        s.procedure_code = ev.procedure_code
        proc = rules.catalog.lookup(ev.procedure_code or "", cal.local_date(ev.occurred_at))
        s.procedure_known = proc is not None
        days = proc.limit_working_days if proc else None
        s.limit = None if days is None else cal.working_day * days
        s.receiving_unit = s.current_unit = ev.agency_code
        s.channel = ev.channel
        s.received_at = ev.occurred_at
        s.holder_since = ev.occurred_at
        s._start_clock(ev.occurred_at, rules)


class _Transferred(_Handler):
    def run(self, s, ev, rules):
        s._tally_holder(ev.occurred_at, rules)
        s.current_unit = ev.to_unit


class _SupplementRequested(_Handler):
    def allowed(self, s):
        return s.pause_reason is None

    def run(self, s, ev, rules):
        s._stop_clock(ev.occurred_at, rules, "supplement")
        s.supplement_count += 1
        s.supplement_requested_at = ev.occurred_at


class _SupplementReceived(_Handler):
    def allowed(self, s):
        return s.pause_reason == "supplement"

    def run(self, s, ev, rules):
        if rules.supplement_mode == "restart":
            s.used = timedelta(0)
            s.frozen_due = False
            s.cycle += 1
            s.warned_cycle = False
        s._start_clock(ev.occurred_at, rules)


class _SentToTax(_Handler):
    def allowed(self, s):
        return s.pause_reason is None

    def run(self, s, ev, rules):
        cal = rules.calendar
        s._stop_clock(ev.occurred_at, rules, "tax")
        s.sent_to_tax_at = ev.occurred_at
        s.tax_office = ev.tax_office
        s.tax_notice_at = None
        proc = rules.catalog.lookup(s.procedure_code or "", cal.local_date(ev.occurred_at))
        days = proc.tax_limit_working_days if proc and proc.tax_limit_working_days else None
        s.tax_due_at = cal.add_days(ev.occurred_at, days or DEFAULT_TAX_LIMIT_DAYS)


class _TaxNoticeIssued(_Handler):
    def allowed(self, s):
        return s.pause_reason == "tax" and s.tax_notice_at is None

    def run(self, s, ev, rules):
        s.tax_notice_at = ev.occurred_at


class _ObligationPaid(_Handler):
    def allowed(self, s):
        return s.pause_reason == "tax"

    def run(self, s, ev, rules):
        s.paid_at = ev.occurred_at
        s.payment_channel = ev.channel
        s._start_clock(ev.occurred_at, rules)


class _Extended(_Handler):
    def run(self, s, ev, rules):
        remaining = s.remaining_at(ev.occurred_at, rules.calendar)
        late = bool(s.extensions) or (
            remaining is not None and remaining < rules.calendar.working_day
        )
        s.extensions.append((ev.event_id, ev.occurred_at, late))
        s.extended_due_at = ev.new_due_at


class _Concluded(_Handler):
    def run(self, s, ev, rules):
        _finish(s, ev, rules, ev.outcome or "approved")


class _Withdrawn(_Handler):
    def run(self, s, ev, rules):
        _finish(s, ev, rules, "withdrawn")


def _finish(s: DossierState, ev: DossierEvent, rules: Rules, outcome: str) -> None:
    cal = rules.calendar
    if s.running_since is None and s.limit is not None and not s.frozen_due:
        # Finished while paused: judge against the due time the clock would
        # have had if it resumed now — the paused time never counts.
        s.due_at = cal.add(ev.occurred_at, s.limit - s.used)
    s._tally_holder(ev.occurred_at, rules)
    s._stop_clock(ev.occurred_at, rules, "finished")
    s.finished_at = ev.occurred_at
    s.outcome = outcome


class _ResultAttached(_Handler):
    def run(self, s, ev, rules):
        if s.result_attached_at is None:
            s.result_attached_at = ev.occurred_at
            s.signed = ev.signed


class _ResultReturned(_Handler):
    def run(self, s, ev, rules):
        if s.result_returned_at is None:
            s.result_returned_at = ev.occurred_at


_HANDLERS: dict[str, _Handler] = {
    "received": _Received(),
    "transferred": _Transferred(),
    "supplement_requested": _SupplementRequested(),
    "supplement_received": _SupplementReceived(),
    "sent_to_tax": _SentToTax(),
    "tax_notice_issued": _TaxNoticeIssued(),
    "obligation_paid": _ObligationPaid(),
    "extended": _Extended(),
    "concluded": _Concluded(),
    "withdrawn": _Withdrawn(),
    "result_attached": _ResultAttached(),
    "result_returned": _ResultReturned(),
}
