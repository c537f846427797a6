"""Shared builders for the processor's tests: times, event objects, and readers of outputs.

Times are Hà Nội wall-clock text. In March 2024 there is no holiday: Mon 4/3, ..., Fri
8/3, Mon 11/3. An exchange (1.012713, 5 working days) received Mon 4/3 09:00 is due Mon
11/3 09:00, warned Fri 8/3 09:00 and breached at 00:00 on Tue 12/3; a transfer
(1.012711, 8 working days) received then is due Thu 14/3 09:00.
"""


from __future__ import annotations

from datetime import datetime
from typing import Any

from stream_app.domain.calendar import TZ
from stream_app.store.rows import ALERT_COLUMNS, EVENT_COLUMNS, STATE_COLUMNS
from tests.core.conftest import Written

DOSSIER = "000.22.31.H53-240304-0007"
OTHER = "000.22.31.H53-240304-0008"
DESK = "000.22.31.H53"  # Văn phòng Đăng ký đất đai tỉnh Tây Ninh
BRANCH = "001.22.31.H53"  # its branch in Tây Ninh city
TRANSFER = "1.012711"  # 8 working days, tax-interlinked
EXCHANGE = "1.012713"  # 5 working days
UNKNOWN = "9.999999"  # not in the catalog

WARNING_AT = "2024-03-08 09:00"
DUE_AT = "2024-03-11 09:00"
BREACH_AT = "2024-03-12 00:00"


def t(text: str) -> datetime:
    """``"2024-03-04 09:00"`` → 2024-03-04T09:00+07:00."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def event(kind: str, at: str, dossier: str = DOSSIER, *, event_id: str | None = None,
          agency: str = DESK, **own: Any) -> dict[str, Any]:
    """One event as its JSON object; datetimes in `own` are written as RFC 3339 text."""
    obj = {
        "event_id": event_id or f"{dossier}/{kind}@{at}",
        "event_type": kind,
        "dossier_id": dossier,
        "occurred_at": t(at).isoformat(),
        "agency_code": agency,
    }
    obj.update({k: v.isoformat() if isinstance(v, datetime) else v for k, v in own.items()})
    return obj


def received(at: str, code: str = EXCHANGE, dossier: str = DOSSIER, **kw: Any) -> dict[str, Any]:
    return event("received", at, dossier, procedure_code=code, channel="direct", **kw)


def state_of(row: list[Any]) -> dict[str, Any]:
    return dict(zip(STATE_COLUMNS, row))


def events_of(out: Written) -> list[dict[str, Any]]:
    return [dict(zip(EVENT_COLUMNS, r)) for r in out.events]


def alerts_of(out: Written) -> list[dict[str, Any]]:
    return [dict(zip(ALERT_COLUMNS, r)) for r in out.alerts]


def types(out: Written) -> list[str]:
    return [r["event_type"] for r in events_of(out)]


def kinds(out: Written) -> list[str]:
    return [a["kind"] for a in alerts_of(out)]


def pick(row: dict[str, Any], *columns: str) -> tuple[Any, ...]:
    return tuple(row[c] for c in columns)


def comparable(states: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """State rows without the wall-clock column."""
    return {d: {k: v for k, v in row.items() if k != "updated_at"} for d, row in states.items()}


def state_after(d: Any, upto: int) -> dict[str, dict[str, Any]]:
    """The latest state rows written by the first `upto` outputs (what the store held)."""
    latest: dict[str, dict[str, Any]] = {}
    for o in d.outputs[:upto]:
        for r in o.state_rows:
            row = state_of(r)
            latest[row["dossier_id"]] = row
    return latest
