"""DossierHistory: duplicates, out-of-order events, and the alerts a late event disproves.

docs/contract.md §1: a repeated event_id changes nothing; events may arrive out of order and
the result must equal in-order processing; a late event is still applied and the alerts
it proves false are retracted. The law is checked with hypothesis over random valid
dossiers, any arrival order and any duplication.
"""

import copy
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_app.domain.alerts import candidates, earliest
from stream_app.domain.calendar import TZ
from stream_app.domain.dossier import DossierState
from stream_app.domain.events import RANK, DossierEvent
from stream_app.domain.history import Added, DossierHistory, FiredAlert
from tests.domain.builders import (
    BRANCH,
    DOSSIER,
    EXCHANGE,
    RULES,
    SHIFT,
    TRANSFER,
    UNKNOWN,
    ev,
    history,
    received,
    t,
)

REC = received("2024-03-04 09:00", TRANSFER)  # due Thu 14/3 09:00, warning Wed 13/3 09:00
BREACH_AT = t("2024-03-15 00:00")
WARNING_AT = t("2024-03-13 09:00")
EMITTED = t("2024-03-20 12:00")


def fire(h: DossierHistory, watermark: datetime) -> list[str]:
    """What the stream does when its clock passes `watermark`: emit the due alerts."""
    ids = []
    for a in h.due_alerts(watermark):
        h.fired[a.alert_id] = FiredAlert(a.kind, a.fires_at, EMITTED)
        ids.append(a.alert_id)
    return ids


def kinds(h: DossierHistory) -> list[tuple[str, datetime]]:
    return sorted(((a.kind, a.fires_at) for a in h.alerts().values()), key=lambda k: (k[1], k[0]))


# -- duplicates and impossible steps ----------------------------------------------------

def test_a_repeated_event_id_is_a_duplicate_and_changes_nothing():
    h = history([REC, ev("transferred", "2024-03-05 09:00", to_unit=BRANCH)])
    before = (list(h.events), copy.deepcopy(h.state), h.alerts(), h.version)
    again = ev("transferred", "2024-03-05 09:00", to_unit="somewhere else")  # same id, other content
    assert h.add(again, RULES) == Added.DUPLICATE
    assert (list(h.events), h.state, h.alerts(), h.version) == before


def test_a_duplicate_of_an_early_event_is_a_duplicate_too():
    h = history([REC, ev("concluded", "2024-03-12 09:00")])
    assert (h.add(REC, RULES), len(h.events)) == (Added.DUPLICATE, 2)


def test_an_impossible_step_is_reported_and_changes_nothing():
    h = history([REC])
    state, version = repr(h.state), h.version
    assert h.add(ev("tax_notice_issued", "2024-03-05 09:00"), RULES) == Added.WAITING
    assert (repr(h.state), h.version, [e.event_type for e in h.events]) == (state, version, ["received"])


def test_an_impossible_late_step_is_reported_and_keeps_the_fold():
    h = history([REC, ev("sent_to_tax", "2024-03-07 09:00")])
    state = repr(h.state)
    # A supplement coming back that was never requested, arriving out of order.
    assert h.add(ev("supplement_received", "2024-03-06 09:00"), RULES) == Added.WAITING
    assert (repr(h.state), [e.event_type for e in h.events]) == (state, ["received", "sent_to_tax"])


def test_a_repeat_of_an_impossible_event_is_a_duplicate():
    h = history([REC])
    wrong = ev("obligation_paid", "2024-03-05 09:00")
    assert (h.add(wrong, RULES), h.add(wrong, RULES)) == (Added.WAITING, Added.DUPLICATE)


# -- out of order -----------------------------------------------------------------------

def test_a_late_event_is_folded_in_its_place():
    # Sent to tax Wed 6/3 arrives after the paid event of Tue 12/3.
    in_order = history([REC, ev("sent_to_tax", "2024-03-06 09:00"), ev("obligation_paid", "2024-03-12 09:00")])
    late = history([REC, ev("obligation_paid", "2024-03-12 09:00"), ev("sent_to_tax", "2024-03-06 09:00")])
    assert (late.state, late.events, late.state.due_at) == (in_order.state, in_order.events, t("2024-03-20 09:00"))


def test_an_impossible_event_is_reported_kept_aside_and_applied_once_possible():
    h = history([REC])
    paid, sent = ev("obligation_paid", "2024-03-12 09:00"), ev("sent_to_tax", "2024-03-06 09:00")
    assert (h.add(paid, RULES), h.waiting) == (Added.WAITING, [paid])
    assert (h.add(sent, RULES), h.waiting, h.events, h.state.paid_at) == (Added.APPLIED, [], [REC, sent, paid], t("2024-03-12 09:00"))


def test_from_events_ignores_repeated_ids():
    events = [REC, ev("transferred", "2024-03-05 09:00", to_unit=BRANCH)]
    twice = DossierHistory.from_events(DOSSIER, events + events, RULES)
    assert (twice.events, twice.state, twice.waiting) == (events, history(events).state, [])


def test_events_before_received_wait_for_it():
    h = history([ev("transferred", "2024-03-05 09:00", to_unit=BRANCH), ev("concluded", "2024-03-06 09:00"), REC])
    assert ([e.event_type for e in h.events], h.state.current_unit, h.state.status) == (
        ["received", "transferred", "concluded"], BRANCH, "finished",
    )


def test_the_first_add_of_an_orphan_event_reports_it():
    assert DossierHistory(DOSSIER).add(ev("concluded", "2024-03-06 09:00"), RULES) == Added.WAITING


def test_from_events_equals_feeding_one_by_one():
    events = [REC, ev("sent_to_tax", "2024-03-06 09:00"), ev("tax_notice_issued", "2024-03-07 09:00"), ev("concluded", "2024-03-15 09:00")]
    fed, built = history(events), DossierHistory.from_events(DOSSIER, reversed(events), RULES)
    assert (built.events, built.state, built.alerts()) == (fed.events, fed.state, fed.alerts())


def test_alerts_of_an_earlier_state_stay_real_after_the_state_changes():
    h = history([REC, ev("concluded", "2024-03-15 10:00")])
    # The warning and the breach fired before the conclusion; missing_result after it.
    assert kinds(h) == [
        ("sla_warning", WARNING_AT),
        ("sla_breach", BREACH_AT),
        ("missing_result", t("2024-03-18 10:00")),
    ]


# -- alerts listed when needed ----------------------------------------------------------

@pytest.fixture
def listings(monkeypatch) -> list[str]:
    """The dossiers whose candidates were listed, one entry a listing."""
    import stream_app.domain.history as history_module

    seen: list[str] = []

    def counted(state, since, rules):
        seen.append(state.dossier_id)
        return candidates(state, since, rules)

    monkeypatch.setattr(history_module, "candidates", counted)
    return seen


def test_a_state_giving_way_before_any_of_its_alerts_could_fire_is_never_listed(listings):
    h = history([REC, ev("transferred", "2024-03-05 09:00", to_unit=BRANCH),
                 ev("transferred", "2024-03-06 09:00", to_unit="H53")])
    assert (listings, h.next_timer()) == ([], WARNING_AT)  # the timer knows when, nothing more
    assert h.due_alerts(WARNING_AT - timedelta(milliseconds=1)) == [] and listings == []
    assert kinds(h) == [("sla_warning", WARNING_AT), ("sla_breach", BREACH_AT)]
    assert listings == [DOSSIER]  # listed once, when asked
    h.alerts(), h.next_fire_time(), h.due_alerts(BREACH_AT)
    assert listings == [DOSSIER]


def test_a_state_giving_way_after_its_first_alert_could_fire_is_listed_before_it_changes(listings):
    h = history([REC, ev("transferred", "2024-03-13 10:00", to_unit=BRANCH)])  # after the warning
    assert listings == [DOSSIER]
    assert [(a.kind, a.unit) for a in h.certain.values()] == [("sla_warning", REC.agency_code)]  # the unit that held it


def test_an_in_order_event_checks_emitted_alerts_without_listing_again(listings):
    h = history([REC])
    fire(h, WARNING_AT)
    listings.clear()
    assert (h.add(ev("transferred", "2024-03-13 10:00", to_unit=BRANCH), RULES), h.disproved()) == (Added.APPLIED, [])
    assert listings == []  # the list the timer made serves the state giving way
    assert h.disproved() == [] and listings == []


# -- timers: due alerts, next fire time -------------------------------------------------

def test_due_alerts_are_those_whose_time_has_come_in_time_order():
    h = history([REC])
    assert [(a.kind, a.fires_at) for a in h.due_alerts(BREACH_AT)] == [("sla_warning", WARNING_AT), ("sla_breach", BREACH_AT)]
    assert [a.kind for a in h.due_alerts(BREACH_AT - timedelta(milliseconds=1))] == ["sla_warning"]


def test_an_emitted_alert_is_not_due_again():
    h = history([REC])
    fire(h, WARNING_AT)
    assert ([a.kind for a in h.due_alerts(BREACH_AT)], h.next_fire_time()) == (["sla_breach"], BREACH_AT)


def test_next_fire_time_and_active():
    h = history([REC, ev("concluded", "2024-03-12 10:00")])
    assert (h.next_fire_time(), h.active) == (t("2024-03-13 10:00"), True)  # missing_result still owed
    fire(h, t("2024-03-13 10:00"))
    assert (h.next_fire_time(), h.active) == (None, False)


def test_an_open_dossier_is_active_without_pending_alerts():
    h = history([received("2024-03-04 09:00", UNKNOWN)])
    assert (h.next_fire_time(), h.active) == (None, True)


def test_breached_tells_whether_the_breach_was_emitted_and_stands():
    h = history([REC])
    assert h.breached(BREACH_AT) is False
    fire(h, BREACH_AT)
    assert (h.breached(BREACH_AT), h.breached(BREACH_AT + timedelta(days=1))) == (True, False)


# -- late events disprove emitted alerts ------------------------------------------------

@pytest.mark.parametrize(
    ("watermark", "late", "disproved"),
    [
        pytest.param(BREACH_AT, ev("concluded", "2024-03-14 16:00"), ["sla_breach"], id="concluded on the due date"),
        pytest.param(BREACH_AT, ev("withdrawn", "2024-03-14 10:00"), ["sla_breach"], id="withdrawn on the due date"),
        pytest.param(WARNING_AT, ev("sent_to_tax", "2024-03-12 09:00"), ["sla_warning"], id="at tax before the warning"),
        pytest.param(
            BREACH_AT, ev("supplement_requested", "2024-03-11 09:00"), ["sla_warning", "sla_breach"],
            id="supplement requested before the warning",
        ),
    ],
)
def test_a_late_event_disproves_an_emitted_alert(watermark, late, disproved):
    h = history([REC])
    fired = {h.alerts()[aid].kind: aid for aid in fire(h, watermark)}
    assert (h.add(late, RULES), sorted(h.disproved())) == (Added.APPLIED, sorted(fired[k] for k in disproved))


def test_a_late_tax_notice_disproves_tax_overdue():
    h = history([REC, ev("sent_to_tax", "2024-03-06 09:00")])
    [aid] = fire(h, t("2024-03-13 09:00"))  # tax due Wed 13/3 09:00
    assert (h.add(ev("tax_notice_issued", "2024-03-12 15:00"), RULES), h.disproved()) == (Added.APPLIED, [aid])


def test_a_late_event_that_changes_no_alert_disproves_nothing():
    h = history([REC])
    fire(h, BREACH_AT)
    h.add(ev("transferred", "2024-03-06 09:00", to_unit=BRANCH), RULES)
    assert h.disproved() == []


def test_a_retracted_alert_is_no_longer_disproved_and_is_kept():
    h = history([REC])
    [warning, breach] = fire(h, BREACH_AT)
    h.add(ev("concluded", "2024-03-14 16:00"), RULES)
    h.fired[breach].retracted = True
    assert (h.disproved(), sorted(h.fired)) == ([], sorted([warning, breach]))


# -- version ----------------------------------------------------------------------------

def test_version_grows_with_events_alerts_and_retractions():
    h = DossierHistory(DOSSIER)
    seen = [h.version]
    h.add(REC, RULES)
    seen.append(h.version)
    fire(h, BREACH_AT)  # warning and breach
    seen.append(h.version)
    h.add(ev("concluded", "2024-03-14 16:00"), RULES)  # late: disproves the breach
    seen.append(h.version)
    [aid] = h.disproved()
    h.fired[aid].retracted = True
    seen.append(h.version)
    assert seen == [0, 1, 3, 4, 5]


def test_version_does_not_move_on_a_duplicate_or_an_invalid_event():
    h = history([REC])
    h.add(REC, RULES)
    h.add(ev("tax_notice_issued", "2024-03-05 09:00"), RULES)
    assert h.version == 1


# -- the law: any arrival order, any duplication, same result ---------------------------

_BASE = datetime(2024, 1, 1, tzinfo=TZ)
_STEPS = [0, 1, 30, 120, 240, 60 * 20, 60 * 24, 3 * 60 * 24, 9 * 60 * 24]  # minutes
_KINDS = [k for k in RANK if k != "received"]
_CODES = [TRANSFER, EXCHANGE, UNKNOWN]


def _make(kind: str, n: int, at: datetime) -> DossierEvent:
    own = {
        "transferred": {"to_unit": BRANCH},
        "extended": {"new_due_at": at + timedelta(days=10)},
        "concluded": {"outcome": "rejected" if n % 3 == 0 else "approved"},
        "obligation_paid": {"channel": "online"},
    }.get(kind, {})
    return DossierEvent(f"e{n:02d}", kind, DOSSIER, at, "H53", **own)


@st.composite
def valid_dossiers(draw) -> list[DossierEvent]:
    """A received dossier followed by random steps, each chosen among those valid then."""
    at = _BASE + timedelta(minutes=draw(st.integers(0, 3 * 365 * 24 * 60)))
    first = DossierEvent("e00", "received", DOSSIER, at, "H53", procedure_code=draw(st.sampled_from(_CODES)))
    state, events = DossierState(DOSSIER), [first]
    state.apply(first, RULES)
    for n in range(1, draw(st.integers(1, 12))):
        at = at + timedelta(minutes=draw(st.sampled_from(_STEPS)) + draw(st.integers(0, 59)))
        options = []
        for kind in _KINDS:
            candidate = _make(kind, n, at)
            if candidate.sort_key < events[-1].sort_key:  # same moment, earlier in the lifecycle
                candidate = _make(kind, n, at + timedelta(minutes=1))
            if copy.deepcopy(state).apply(candidate, RULES) is None:
                # Ending is less likely than going on, so that middles get explored.
                options += [candidate] * (1 if kind in ("concluded", "withdrawn") else 3)
        if not options or (state.finished and draw(st.booleans())):
            break
        chosen = draw(st.sampled_from(options))
        state.apply(chosen, RULES)
        events.append(chosen)
        at = chosen.occurred_at
    return events


def _same(h: DossierHistory, ref: DossierHistory) -> None:
    assert h.events == ref.events
    assert h.state == ref.state
    assert h.alerts() == ref.alerts()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_dossiers(), st.data())
def test_any_arrival_order_and_duplication_gives_the_in_order_result(events, data):
    ref = history(events)
    arrivals = data.draw(st.permutations(events))
    for dup in data.draw(st.lists(st.sampled_from(events), max_size=4)):
        arrivals.insert(data.draw(st.integers(0, len(arrivals))), dup)
    h = DossierHistory(DOSSIER)
    for e in arrivals:
        h.add(e, RULES)
    _same(h, ref)


@settings(max_examples=60, deadline=None)
@given(valid_dossiers(), st.data())
def test_the_law_holds_in_shift_mode_too(events, data):
    ref = history(events, SHIFT)
    h = history(data.draw(st.permutations(events)), SHIFT)
    _same(h, ref)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(RANK)), st.integers(0, 20 * 24 * 60)), min_size=1, max_size=10), st.data())
def test_any_events_even_impossible_ones_fold_as_if_sorted(raw, data):
    """Whatever the events, feeding them in any order equals folding them sorted."""
    base = datetime(2024, 3, 1, tzinfo=TZ)
    events = [
        _make(kind, n, base + timedelta(minutes=m)) if kind != "received"
        else DossierEvent(f"e{n:02d}", "received", DOSSIER, base + timedelta(minutes=m), "H53", procedure_code=TRANSFER)
        for n, (kind, m) in enumerate(raw)
    ]
    ref = DossierHistory.from_events(DOSSIER, events, RULES)
    _same(history(data.draw(st.permutations(events))), ref)


def _state_at(events: list[DossierEvent], moment: datetime, rules) -> DossierState:
    """The state of all events with occurred_at <= moment."""
    s = DossierState(DOSSIER)
    for e in sorted(events, key=lambda e: e.sort_key):
        if e.occurred_at <= moment:
            s.apply(e, rules)
    return s


@settings(max_examples=100, deadline=None)
@given(valid_dossiers(), st.sampled_from([RULES, SHIFT]))
def test_an_alert_is_real_iff_the_state_at_its_fire_time_calls_for_it(events, rules):
    """The rule of history.py, checked against a fold of the events up to each fire time."""
    early = datetime(2000, 1, 1, tzinfo=TZ)
    pool = {}
    for n in range(1, len(events) + 1):
        for a in candidates(_state_at(events[:n], events[n - 1].occurred_at, rules), early, rules):
            pool[a.alert_id] = a
    real = {
        aid for aid, a in pool.items()
        if aid in {c.alert_id for c in candidates(_state_at(events, a.fires_at, rules), a.fires_at, rules)}
    }
    assert set(DossierHistory.from_events(DOSSIER, events, rules).alerts()) == real


@settings(max_examples=100, deadline=None)
@given(valid_dossiers(), st.sampled_from([RULES, SHIFT]))
def test_the_timer_is_never_after_the_next_owed_alert_and_earliest_is_the_first_candidate(events, rules):
    h = DossierHistory(DOSSIER)
    for e in events:
        h.add(e, rules)
        first = earliest(h.state, e.occurred_at, rules)
        assert first == min((a.fires_at for a in candidates(h.state, e.occurred_at, rules)), default=None)
        timer, owed = h.next_timer(), h.next_fire_time()
        assert owed is None or (timer is not None and timer <= owed)
        assert h.next_timer() == owed  # once listed, the timer is exact
        for a in h.due_alerts(owed or e.occurred_at):
            h.fired[a.alert_id] = FiredAlert(a.kind, a.fires_at, EMITTED)
