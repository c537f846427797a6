"""Hypothesis strategies for the processor's properties: valid lives of a few dossiers,
merged into one time-sorted export, and the harness that runs them to the end.

`province()` draws 1–4 dossiers, each a `received` then up to 8 steps the state
machine accepts, with gaps from minutes (within the lateness) to days; `final` runs
batches through a driver, finishes at `as_of`, and returns what a user would compare.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import orjson
from hypothesis import strategies as st

from stream_app.domain.dossier import DossierState
from stream_app.domain.events import DossierEvent
from stream_app.schemas.parse import DeadLetter, parse_event
from tests.core.builders import (
    BRANCH,
    EXCHANGE,
    TRANSFER,
    UNKNOWN,
    comparable,
    event,
    t,
)
from tests.core.conftest import RULES, Driver

STEP_KINDS = (
    "transferred", "supplement_requested", "supplement_received", "sent_to_tax", "tax_notice_issued",
    "obligation_paid", "extended", "concluded", "withdrawn", "result_attached", "result_returned",
)
BASE = t("2024-03-04 08:00")


def own_fields(kind: str, at: datetime, pick: int) -> dict[str, Any]:
    return {
        "transferred": {"to_unit": (BRANCH, "002.22.31.H53")[pick % 2]},
        "sent_to_tax": {"tax_office": "CCT-TN"},
        "obligation_paid": {"channel": ("online", "counter")[pick % 2]},
        "extended": {"new_due_at": at + timedelta(days=5)},
        "concluded": {"outcome": ("approved", "rejected")[pick % 2]},
        "result_attached": {"document_ref": "kq.pdf", "signed": bool(pick % 2)},
    }.get(kind, {})


@st.composite
def dossier_events(draw, dossier: str) -> list[dict[str, Any]]:
    """A valid life of one dossier: a received, then steps the state machine accepts."""
    at = BASE + timedelta(minutes=draw(st.one_of(st.integers(0, 30), st.integers(0, 3 * 24 * 60))))
    code = draw(st.sampled_from([EXCHANGE, TRANSFER, UNKNOWN]))
    first = {**event("received", "2024-01-01 00:00", dossier), "occurred_at": at.isoformat(),
             "procedure_code": code, "event_id": f"{dossier}#0"}
    state = DossierState(dossier)
    state.apply(DossierEvent.from_model(_model(first)), RULES)
    out = [first]
    for n in range(1, draw(st.integers(0, 8)) + 1):
        if state.finished and draw(st.booleans()):
            break
        at += timedelta(minutes=draw(st.one_of(st.integers(1, 9), st.integers(10, 4 * 24 * 60))))
        pick = draw(st.integers(0, 1))
        possible = []
        for kind in STEP_KINDS:
            obj = {**event(kind, "2024-01-01 00:00", dossier), "occurred_at": at.isoformat(),
                   "event_id": f"{dossier}#{n}", **_json(own_fields(kind, at, pick))}
            if copy.deepcopy(state).apply(DossierEvent.from_model(_model(obj)), RULES) is None:
                possible.append(obj)
        obj = draw(st.sampled_from(possible))
        state.apply(DossierEvent.from_model(_model(obj)), RULES)
        out.append(obj)
    return out


def _json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


def _model(obj: dict[str, Any]):
    parsed = parse_event(orjson.dumps(obj), key=None, source="gen")
    assert not isinstance(parsed, DeadLetter), parsed
    return parsed


@st.composite
def province(draw) -> list[dict[str, Any]]:
    """A few dossiers' valid lives, merged into one time-sorted export."""
    n = draw(st.integers(1, 4))
    events = [e for i in range(n) for e in draw(dossier_events(f"000.22.31.H53-240304-{i:04d}"))]
    return sorted(events, key=lambda e: (datetime.fromisoformat(e["occurred_at"]), e["event_id"]))


def as_of_for(events: list[dict[str, Any]], extra_days: int) -> datetime:
    return max(datetime.fromisoformat(e["occurred_at"]) for e in events) + timedelta(days=extra_days)


def final(d: Driver, events_batches: list[list[dict[str, Any]]], as_of: datetime):
    """(state rows, alert ids, dead letters, ids in the events table) after the batches and finish."""
    for batch in events_batches:
        d.push(*batch)
    d.finish(as_of)
    return comparable(d.state()), d.alert_ids(), d.dead_letters(), sorted(r["event_id"] for r in d.events())


@st.composite
def arrivals(draw, lateness: timedelta) -> list[dict[str, Any]]:
    """A province as a source system delivers it: mostly in time order, some events jittered
    within the allowed lateness, and some held back far beyond it (they arrive after events
    that happened days later), so alerts fire and are retracted, or made real again."""
    events = draw(province())
    keyed = []
    for e in events:
        at = datetime.fromisoformat(e["occurred_at"])
        kind = draw(st.sampled_from(["in_time", "in_time", "jitter", "beyond"]))
        if kind == "jitter":
            at += timedelta(seconds=draw(st.integers(0, int(lateness.total_seconds()) - 1)))
        elif kind == "beyond" and e["event_type"] != "received":
            at += lateness + timedelta(minutes=draw(st.integers(1, 6 * 24 * 60)))
        keyed.append((at, e["event_id"], e))
    return [e for _, _, e in sorted(keyed, key=lambda k: (k[0], k[1]))]


def tables(d: Driver) -> dict[str, Any]:
    """Every table as the store would hold it (latest row per key, wall clock aside)."""
    alerts = {}
    for a in d.alerts():
        alerts[a["alert_id"]] = {k: v for k, v in a.items() if k != "emitted_at"}
    return {
        "events": sorted((tuple(v for k, v in r.items() if k != "ingested_at") for r in d.events()), key=repr),
        "dead_letters": sorted((tuple(v for k, v in r.items() if k != "received_at") for r in d.dead_letters()),
                               key=repr),
        "dossier_state": comparable(d.state()),
        "alerts": alerts,
    }
