"""Terse builders for dossier events, times and rules used by the domain tests.

Times are written as local Hà Nội wall-clock text, ``"2024-03-04 09:00"`` (seconds
and milliseconds optional: ``"2024-03-14 23:59:59.999"``), and become aware
datetimes at +07:00. Event ids default to ``<type>@<time>`` so they are readable
and deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from stream_app.domain.calendar import TZ, WorkingCalendar
from stream_app.domain.catalog import Catalog, Procedure
from stream_app.domain.dossier import DossierState, Rules
from stream_app.domain.events import DossierEvent
from stream_app.domain.history import DossierHistory

DOSSIER = "000.22.31.H53-240304-0007"
DESK = "000.22.31.H53"  # the receiving one-stop desk
BRANCH = "000.23.31.H53"  # a land-office branch
TRANSFER = "1.012711"  # 8 working days; tax 5 days, 3 from 2026-07-01
FIRST_REGISTRATION = "1.012712"  # 20 working days
EXCHANGE = "1.012713"  # 5 working days, no tax
SPLIT = "1.012715"  # 12 working days
REVOCATION = "1.012718"  # 25 working days
UNKNOWN = "9.999999"  # not in the catalog

CAL = WorkingCalendar.load()
CATALOG = Catalog.load()
RULES = Rules(calendar=CAL, catalog=CATALOG)
SHIFT = Rules(calendar=CAL, catalog=CATALOG, supplement_mode="shift")


def t(text: str) -> datetime:
    """``"2024-03-04 09:00"`` -> 2024-03-04T09:00:00+07:00; an explicit offset is kept."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=TZ)


def ev(kind: str, at: str, event_id: str | None = None, *, dossier_id: str = DOSSIER, agency_code: str = DESK, **own) -> DossierEvent:
    """One event; ``new_due_at`` may be given as text like ``at``."""
    if isinstance(own.get("new_due_at"), str):
        own["new_due_at"] = t(own["new_due_at"])
    return DossierEvent(
        event_id=event_id or f"{kind}@{at}",
        event_type=kind,
        dossier_id=dossier_id,
        occurred_at=t(at),
        agency_code=agency_code,
        **own,
    )


def received(at: str, code: str = TRANSFER, **kw) -> DossierEvent:
    return ev("received", at, procedure_code=code, channel="direct", **kw)


def fold(events: Iterable[DossierEvent], rules: Rules = RULES) -> DossierState:
    """The state after applying ``events`` in the given order; each must be valid."""
    state = DossierState(DOSSIER)
    for e in events:
        err = state.apply(e, rules)
        assert err is None, f"{e.event_type} at {e.occurred_at}: {err}"
    return state


def history(events: Iterable[DossierEvent], rules: Rules = RULES) -> DossierHistory:
    """A history fed the events one by one, in the given order."""
    h = DossierHistory(DOSSIER)
    for e in events:
        h.add(e, rules)
    return h


def real_alerts(events: Iterable[DossierEvent], rules: Rules = RULES) -> list[tuple[str, datetime]]:
    """The real alerts of a dossier as (kind, fires_at), in time order."""
    h = DossierHistory.from_events(DOSSIER, events, rules)
    return sorted(((a.kind, a.fires_at) for a in h.alerts().values()), key=lambda k: (k[1], k[0]))


def rules_with(*procedures: tuple[str, float | None, float | None], supplement_mode: str = "restart") -> Rules:
    """Rules with a custom catalog of (code, limit days, tax limit days)."""
    catalog = Catalog.from_rows(
        Procedure(code, f"Thủ tục {code}", limit, tax is not None, tax, None) for code, limit, tax in procedures
    )
    return Rules(calendar=CAL, catalog=catalog, supplement_mode=supplement_mode)
