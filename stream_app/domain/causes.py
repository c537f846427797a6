"""Why a dossier is overdue: the cause the monthly report breaks figures down by.

One cause per overdue dossier, checked in this order (the first that applies):
`tax` — the tax authority took longer than its limit; `open_after_completion`
— the result was ready by the due date but the dossier was closed late;
`supplement` — the dossier went back to the citizen for a supplement; `unit` —
otherwise, the unit that held it past its share of the time. The unit that held
it longest past its share is named for every overdue dossier.
"""

from __future__ import annotations

from datetime import datetime

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.dossier import DossierState


def overdue_unit(s: DossierState) -> str | None:
    """The unit whose working time most exceeds an equal share of the limit."""
    if not s.unit_hours:
        return s.current_unit
    limit_h = s.limit.total_seconds() / 3600 if s.limit else 0.0
    share = limit_h / len(s.unit_hours)
    return max(sorted(s.unit_hours), key=lambda u: s.unit_hours[u] - share)


def overdue_cause(s: DossierState, cal: WorkingCalendar) -> str:
    tax_late = s.sent_to_tax_at is not None and (
        s.tax_notice_at is None or (s.tax_due_at is not None and s.tax_notice_at > s.tax_due_at)
    )
    if tax_late:
        return "tax"
    first_result: datetime | None = s.first_result_at
    if first_result is not None and s.due_at is not None and cal.local_date(first_result) <= cal.local_date(s.due_at):
        return "open_after_completion"
    if s.supplement_count:
        return "supplement"
    return "unit"
