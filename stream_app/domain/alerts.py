"""Which alerts a dossier's state calls for, and when (docs/contract.md §2).

`candidates(state, since, rules)` lists the alerts the state would raise if
nothing else happened to the dossier, each with the clock time it fires at,
keeping only those at or after `since` (the time the state began to hold).
An alert is real when it is a candidate of the state that holds at its own
fire time; `history.DossierHistory` applies that rule across a dossier's
events. Ids are deterministic: the same input always gives the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from stream_app.domain.codes import KINDS
from stream_app.domain.dossier import DossierState, Rules

__all__ = ["KINDS", "AlertSpec", "alert_id", "candidates", "earliest"]


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """One alert as decided by the rules (the message is rendered later)."""

    alert_id: str
    kind: str
    dossier_id: str
    fires_at: datetime
    due_at: datetime | None
    unit: str | None
    procedure_code: str | None
    receiving_unit: str | None


def alert_id(dossier_id: str, kind: str, fires_at: datetime, extra: str = "") -> str:
    ms = int(fires_at.timestamp() * 1000)
    raw = f"{dossier_id}\x1f{kind}\x1f{ms}\x1f{extra}".encode()
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def _spec(s: DossierState, kind: str, fires_at: datetime, due_at: datetime | None, extra: str = "") -> AlertSpec:
    return AlertSpec(
        alert_id=alert_id(s.dossier_id, kind, fires_at, extra),
        kind=kind,
        dossier_id=s.dossier_id,
        fires_at=fires_at,
        due_at=due_at,
        unit=s.current_unit,
        procedure_code=s.procedure_code,
        receiving_unit=s.receiving_unit,
    )


def candidates(s: DossierState, since: datetime, rules: Rules) -> list[AlertSpec]:
    """Alerts the state calls for, firing at or after `since`."""
    return [_spec(s, kind, at, due, extra) for kind, at, due, extra in _calls(s, rules) if at >= since]


def earliest(s: DossierState, since: datetime, rules: Rules) -> datetime | None:
    """When the first of `candidates(s, since, rules)` fires (None: there is none), without
    building them: a dossier's timer needs only this until something may be due."""
    return min((at for _, at, _, _ in _calls(s, rules) if at >= since), default=None)


def _calls(s: DossierState, rules: Rules) -> Iterator[tuple[str, datetime, datetime | None, str]]:
    """(kind, fires_at, due_at, extra) of every alert the state calls for (docs/contract.md §2)."""
    if s.received_at is None:
        return
    cal = rules.calendar
    if not s.finished and s.due_at is not None:
        if s.running_since is not None and not s.warned_cycle and not s.frozen_due:
            warn_at = s.warning_at(rules)
            if warn_at < s.due_at:
                yield "sla_warning", warn_at, s.due_at, ""
        # Finished on its due date is on time (classification is by local date), so the
        # first late instant is the start of the next day.
        yield "sla_breach", cal.start_of_next_day(s.due_at), s.due_at, ""
    if s.sent_to_tax_at and s.tax_notice_at is None and not s.finished and s.tax_due_at:
        yield "tax_overdue", s.tax_due_at, s.tax_due_at, ""
    first_result = s.first_result_at
    if first_result is not None and not s.finished:
        at = cal.add(first_result, cal.working_day)
        yield "open_after_completion", at, at, ""
    if s.outcome == "approved" and s.result_attached_at is None:
        at = cal.add(s.finished_at, cal.working_day)
        yield "missing_result", at, at, ""
    for event_id, at, late in s.extensions:
        if late:
            yield "late_extension", at, s.due_at, event_id
