"""Every alert kind of docs/contract.md §2, fired at hand-computed times.

An alert is real when it is a candidate of the state holding at its fire time (the
state of all events with occurred_at <= that time); `real_alerts` folds a whole event
list with DossierHistory and lists (kind, fires_at). Times as in test_dossier: office
hours 07:00-11:30 and 13:30-17:00, no holiday in March 2024.
"""

from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from stream_app.domain.alerts import KINDS, alert_id, candidates
from stream_app.domain.dossier import DossierState
from stream_app.domain.history import DossierHistory
from tests.domain.builders import (
    BRANCH,
    DESK,
    DOSSIER,
    EXCHANGE,
    RULES,
    SHIFT,
    TRANSFER,
    UNKNOWN,
    ev,
    fold,
    history,
    real_alerts,
    received,
    rules_with,
    t,
)

# A transfer received Mon 4/3/2024 09:00: due Thu 14/3 09:00; 8 working hours before
# is Wed 13/3 09:00; the breach is at the end of Thu 14/3.
REC = received("2024-03-04 09:00", TRANSFER)
WARNING = ("sla_warning", t("2024-03-13 09:00"))
BREACH = ("sla_breach", t("2024-03-15 00:00"))  # the first instant of the day after the due date


def of_kind(kind, events, rules=RULES):
    return [at for k, at in real_alerts(events, rules) if k == kind]


def test_an_untouched_dossier_warns_then_breaches():
    assert real_alerts([REC]) == [WARNING, BREACH]


def test_kinds_are_the_contract_kinds():
    assert KINDS == ("sla_warning", "sla_breach", "tax_overdue", "open_after_completion", "missing_result", "late_extension")


# -- sla_warning ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("at", "code", "warning"),
    [
        # Due Thu 14/3 09:00; Wed 09:00 -> Thu 09:00 is exactly 8 h.
        pytest.param("2024-03-04 09:00", TRANSFER, "2024-03-13 09:00", id="a day before, same clock time"),
        # Received at 11:30 -> 13:30; due Mon 11/3 11:30 (8 days Thu29/2..Mon11/3).
        # 8 h before: Mon 07:00-11:30 (4.5 h) + Fri 13:30-17:00 (3.5 h) -> Fri 8/3 13:30,
        # the start of the office period after lunch, not Fri 11:30.
        pytest.param("2024-02-28 11:30", TRANSFER, "2024-03-08 13:30", id="over a weekend and lunch: Friday 13:30"),
        # Received 18:00 -> Thu 29/2 07:00; due Mon 11/3 17:00. 8 h before is Mon 07:00
        # (Fri 17:00 has 8 h left too, but Mon 07:00 is the latest such moment).
        pytest.param("2024-02-28 18:00", TRANSFER, "2024-03-11 07:00", id="over a weekend: Monday 07:00, not Friday 17:00"),
        # Exchange 5 days from Mon 4/3 12:15 -> due Mon 11/3 11:30 -> warning Fri 8/3 13:30.
        pytest.param("2024-03-04 12:15", EXCHANGE, "2024-03-08 13:30", id="received at lunch"),
    ],
)
def test_sla_warning_when_exactly_8_working_hours_remain(at, code, warning):
    assert of_kind("sla_warning", [received(at, code)]) == [t(warning)]


HALF_DAY = rules_with(("0.5", 0.5, None))


@pytest.mark.parametrize(
    ("at", "warning", "due"),
    [
        # 4 h limit: less than 8 h from the start -> warn at the clock start.
        # 09:00 + 4 h = 09:00-11:30 (2.5 h) + 13:30-15:00 (1.5 h).
        pytest.param("2024-03-04 09:00", "2024-03-04 09:00", "2024-03-04 15:00", id="limit shorter than the warning"),
        # Received in the evening: the clock starts Tue 07:00 and that is the warning.
        pytest.param("2024-03-04 18:00", "2024-03-05 07:00", "2024-03-05 11:00", id="short limit, received after hours"),
    ],
)
def test_sla_warning_at_clock_start_when_less_remains(at, warning, due):
    assert real_alerts([received(at, "0.5")], HALF_DAY) == [
        ("sla_warning", t(warning)),
        ("sla_breach", t(due[:10]) + timedelta(days=1)),
    ]


def test_the_warning_instant_follows_the_due_time_it_was_computed_for():
    """`warning_at` is remembered between events (most move no clock); a moved due time, a
    restarted clock or another warning setting gives the instant computed afresh, and the
    remembered one is no part of the state's value."""
    h = history([REC])
    first = h.state.warning_at(RULES)
    fresh = history([REC]).state
    assert (first, h.state) == (t("2024-03-13 09:00"), fresh)  # equal, though only one was asked
    for e in (ev("supplement_requested", "2024-03-05 09:00"), ev("supplement_received", "2024-03-06 09:00")):
        h.add(e, RULES)
    assert h.state.warning_at(RULES) == RULES.calendar.subtract(h.state.due_at, RULES.warning) != first
    earlier = replace(RULES, warning=timedelta(hours=4))
    assert h.state.warning_at(earlier) == RULES.calendar.subtract(h.state.due_at, timedelta(hours=4))


def test_no_sla_warning_while_paused_it_comes_after_the_resume():
    events = [
        REC,
        ev("sent_to_tax", "2024-03-12 09:00"),  # 6 days used, 2 left; tax due Tue 19/3 09:00
        ev("tax_notice_issued", "2024-03-14 09:00"),
        ev("obligation_paid", "2024-03-18 09:00"),  # 2 days left -> due Wed 20/3 09:00
    ]
    # The old warning time Wed 13/3 09:00 falls in the pause: nothing then.
    assert real_alerts(events) == [("sla_warning", t("2024-03-19 09:00")), ("sla_breach", t("2024-03-21 00:00"))]


def test_at_most_one_sla_warning_per_budget_cycle():
    events = [
        REC,
        ev("sent_to_tax", "2024-03-13 10:00"),  # after the warning at 09:00; 7 h left
        ev("tax_notice_issued", "2024-03-14 09:00"),
        # Resume Fri 15/3 09:00 + 7 h: Fri 2.5 + 3.5 = 6 h, Mon 07:00 + 1 h -> Mon 18/3 08:00.
        ev("obligation_paid", "2024-03-15 09:00"),
    ]
    assert real_alerts(events) == [WARNING, ("sla_breach", t("2024-03-19 00:00"))]


def test_sla_warning_when_the_clock_resumes_with_exactly_8_hours_left():
    events = [
        REC,
        ev("sent_to_tax", "2024-03-13 09:00"),  # paused at the very moment 8 h remain
        ev("tax_notice_issued", "2024-03-14 09:00"),
        # Resume Fri 15/3 09:00 with 8 h left: due Mon 18/3 09:00, warning at the resume.
        ev("obligation_paid", "2024-03-15 09:00"),
    ]
    assert real_alerts(events) == [("sla_warning", t("2024-03-15 09:00")), ("sla_breach", t("2024-03-19 00:00"))]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        # Restart Mon 18/3 09:00 + 8 days -> Thu 28/3 09:00: a new cycle, a new warning.
        pytest.param(RULES, [WARNING, ("sla_warning", t("2024-03-27 09:00")), ("sla_breach", t("2024-03-29 00:00"))], id="restart"),
        # Shift: 7 h left from Mon 18/3 09:00 -> Tue 19/3 08:00; same cycle, no new warning.
        pytest.param(SHIFT, [WARNING, ("sla_breach", t("2024-03-20 00:00"))], id="shift"),
    ],
)
def test_supplement_restart_opens_a_new_warning_cycle(rules, expected):
    events = [REC, ev("supplement_requested", "2024-03-13 10:00"), ev("supplement_received", "2024-03-18 09:00")]
    assert real_alerts(events, rules) == expected


def test_no_sla_warning_once_concluded():
    assert real_alerts([REC, ev("concluded", "2024-03-13 08:59"), ev("result_attached", "2024-03-13 08:59")]) == []


# -- sla_breach -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("concluded_at", "breach"),
    [
        pytest.param("2024-03-14 15:00", False, id="concluded on the due date after the due time"),
        pytest.param("2024-03-14 23:59:59.999", False, id="concluded in the last millisecond of the due date"),
        pytest.param("2024-03-15 00:00", False, id="concluded at the breach moment itself"),
        pytest.param("2024-03-15 00:00:00.001", True, id="concluded the next day"),
    ],
)
def test_sla_breach_at_the_start_of_the_day_after_the_local_due_date_if_still_open(concluded_at, breach):
    events = [REC, ev("result_attached", concluded_at), ev("concluded", concluded_at)]
    assert of_kind("sla_breach", events) == ([BREACH[1]] if breach else [])


def test_no_sla_breach_after_withdrawal():
    assert of_kind("sla_breach", [REC, ev("withdrawn", "2024-03-14 20:00")]) == []


def test_no_sla_breach_while_paused_before_the_due_time():
    assert real_alerts([REC, ev("supplement_requested", "2024-03-06 09:00")]) == []


def test_sla_breach_while_paused_after_the_budget_ran_out():
    # Sent to tax Thu 14/3 10:00, an hour after the due time: the due time stays and
    # the dossier is still open. Tax due: Thu 14/3 10:00 + 5 days = Thu 21/3 10:00.
    events = [REC, ev("sent_to_tax", "2024-03-14 10:00")]
    assert real_alerts(events) == [WARNING, BREACH, ("tax_overdue", t("2024-03-21 10:00"))]


def test_no_sla_alert_for_an_unknown_procedure():
    assert real_alerts([received("2024-03-04 09:00", UNKNOWN)]) == []


# -- tax_overdue ------------------------------------------------------------------------

SENT = ev("sent_to_tax", "2024-03-06 09:00")  # tax due Wed 13/3 09:00 (5 days)


@pytest.mark.parametrize(
    ("notice_at", "fires"),
    [
        pytest.param(None, True, id="no notice"),
        pytest.param("2024-03-12 16:00", False, id="notice before the tax due time"),
        pytest.param("2024-03-13 09:00", False, id="notice at the tax due time"),
        pytest.param("2024-03-13 09:01", True, id="notice a minute late"),
    ],
)
def test_tax_overdue_at_the_tax_due_time_without_a_notice(notice_at, fires):
    events = [REC, SENT] + ([ev("tax_notice_issued", notice_at)] if notice_at else [])
    assert of_kind("tax_overdue", events) == ([t("2024-03-13 09:00")] if fires else [])


def test_tax_overdue_even_when_paid_without_a_recorded_notice():
    """docs/contract.md §2 reads "no tax_notice_issued yet": a payment does not stand in for it."""
    events = [REC, SENT, ev("obligation_paid", "2024-03-12 09:00")]
    assert of_kind("tax_overdue", events) == [t("2024-03-13 09:00")]


def test_tax_overdue_uses_the_3_day_limit_from_1_july_2026():
    # Sent Wed 1/7/2026 09:00 + 3 days: Thu2(1) Fri3(2) Mon6(3).
    events = [received("2026-06-29 09:00", TRANSFER), ev("sent_to_tax", "2026-07-01 09:00")]
    assert real_alerts(events) == [("tax_overdue", t("2026-07-06 09:00"))]


def test_no_tax_overdue_once_withdrawn():
    assert of_kind("tax_overdue", [REC, SENT, ev("withdrawn", "2024-03-12 09:00")]) == []


def test_tax_overdue_of_each_round_at_tax():
    events = [
        REC, SENT, ev("obligation_paid", "2024-03-07 09:00"),  # paid before the tax due time
        ev("sent_to_tax", "2024-03-08 09:00"),  # second slip: due Fri 15/3 09:00
    ]
    assert of_kind("tax_overdue", events) == [t("2024-03-15 09:00")]


# -- open_after_completion --------------------------------------------------------------

@pytest.mark.parametrize(
    ("results", "fires_at"),
    [
        pytest.param([("result_attached", "2024-03-12 10:00")], "2024-03-13 10:00", id="attached: +1 working day"),
        pytest.param([("result_returned", "2024-03-12 10:00")], "2024-03-13 10:00", id="returned: +1 working day"),
        pytest.param(
            [("result_returned", "2024-03-11 16:00"), ("result_attached", "2024-03-12 10:00")],
            "2024-03-12 16:00",
            id="the first of the two counts",
        ),
        # Fri 16:00 + 8 h: Fri 1 h, Mon 07:00 + 7 h -> Mon 16:00.
        pytest.param([("result_attached", "2024-03-08 16:00")], "2024-03-11 16:00", id="over a weekend"),
        # After hours: clock from Mon 07:00, a full day -> Mon 17:00.
        pytest.param([("result_attached", "2024-03-08 17:30")], "2024-03-11 17:00", id="attached after hours"),
        # 09:00 + 8 h with lunch: next day 09:00; at lunch 12:00 -> from 13:30 -> next day 11:30.
        pytest.param([("result_attached", "2024-03-11 12:00")], "2024-03-12 11:30", id="attached at lunch"),
    ],
)
def test_open_after_completion_one_working_day_after_the_first_result(results, fires_at):
    events = [REC] + [ev(kind, at) for kind, at in results]
    assert of_kind("open_after_completion", events) == [t(fires_at)]


@pytest.mark.parametrize(
    ("concluded_at", "fires"),
    [
        pytest.param("2024-03-13 09:59", False, id="concluded before"),
        pytest.param("2024-03-13 10:00", False, id="concluded at the fire time"),
        pytest.param("2024-03-13 10:01", True, id="concluded after"),
    ],
)
def test_open_after_completion_only_if_not_concluded_by_then(concluded_at, fires):
    events = [REC, ev("result_attached", "2024-03-12 10:00"), ev("concluded", concluded_at)]
    assert of_kind("open_after_completion", events) == ([t("2024-03-13 10:00")] if fires else [])


def test_open_after_completion_also_for_an_unknown_procedure():
    events = [received("2024-03-04 09:00", UNKNOWN), ev("result_returned", "2024-03-12 10:00")]
    assert real_alerts(events) == [("open_after_completion", t("2024-03-13 10:00"))]


# -- missing_result ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("end", "fires_at"),
    [
        pytest.param(ev("concluded", "2024-03-12 10:00", outcome="approved"), "2024-03-13 10:00", id="approved"),
        pytest.param(ev("concluded", "2024-03-12 10:00"), "2024-03-13 10:00", id="no outcome means approved"),
        # Fri 16:30 + 8 h: Fri 0.5 h, Mon 07:00 + 7.5 h -> Mon 16:30.
        pytest.param(ev("concluded", "2024-03-08 16:30", outcome="approved"), "2024-03-11 16:30", id="over a weekend"),
        pytest.param(ev("concluded", "2024-03-12 10:00", outcome="rejected"), None, id="not for rejected"),
        pytest.param(ev("withdrawn", "2024-03-12 10:00"), None, id="not for withdrawn"),
    ],
)
def test_missing_result_one_working_day_after_conclusion(end, fires_at):
    assert of_kind("missing_result", [REC, end]) == ([t(fires_at)] if fires_at else [])


@pytest.mark.parametrize(
    ("result", "fires"),
    [
        pytest.param(ev("result_attached", "2024-03-13 09:59"), False, id="attached in time"),
        pytest.param(ev("result_attached", "2024-03-13 10:00"), False, id="attached at the fire time"),
        pytest.param(ev("result_attached", "2024-03-13 10:01"), True, id="attached too late"),
        pytest.param(ev("result_returned", "2024-03-12 11:00"), True, id="returned on paper only"),
    ],
)
def test_missing_result_only_without_an_attached_result(result, fires):
    events = [REC, ev("concluded", "2024-03-12 10:00", outcome="approved"), result]
    assert of_kind("missing_result", events) == ([t("2024-03-13 10:00")] if fires else [])


# -- late_extension ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("extended_at", "fires"),
    [
        pytest.param("2024-03-13 09:00", False, id="exactly 1 working day before due"),
        pytest.param("2024-03-13 10:00", True, id="7 working hours before due"),
        pytest.param("2024-03-15 10:00", True, id="after due"),
    ],
)
def test_late_extension_at_the_extension_itself(extended_at, fires):
    events = [REC, ev("extended", extended_at, new_due_at="2024-03-20 17:00")]
    assert of_kind("late_extension", events) == ([t(extended_at)] if fires else [])


def test_late_extension_for_a_second_extension_only():
    events = [
        REC,
        ev("extended", "2024-03-05 09:00", new_due_at="2024-03-20 17:00"),
        ev("extended", "2024-03-06 09:00", new_due_at="2024-03-22 17:00"),
    ]
    assert of_kind("late_extension", events) == [t("2024-03-06 09:00")]


def test_late_extension_carries_the_original_due_time():
    h = DossierHistory.from_events(DOSSIER, [REC, ev("extended", "2024-03-13 10:00", new_due_at="2024-03-20 17:00")], RULES)
    [alert] = [a for a in h.alerts().values() if a.kind == "late_extension"]
    assert alert.due_at == t("2024-03-14 09:00")


def test_two_late_extensions_at_the_same_moment_are_two_alerts():
    events = [
        REC,
        ev("extended", "2024-03-15 10:00", "x1", new_due_at="2024-03-20 17:00"),
        ev("extended", "2024-03-15 10:00", "x2", new_due_at="2024-03-22 17:00"),
    ]
    assert of_kind("late_extension", events) == [t("2024-03-15 10:00")] * 2


# -- a whole story ----------------------------------------------------------------------

def test_a_dossier_that_goes_wrong_in_every_way():
    events = [
        REC,
        ev("transferred", "2024-03-05 09:00", to_unit=BRANCH),
        ev("sent_to_tax", "2024-03-06 09:00"),  # 6 days left; tax due Wed 13/3 09:00
        ev("obligation_paid", "2024-03-14 09:00"),  # no notice recorded; 6 days left -> due Fri 22/3 09:00
        ev("extended", "2024-03-21 10:00", new_due_at="2024-03-29 17:00"),  # 7 h before due: late
        ev("result_attached", "2024-03-25 10:00"),  # after the breach
        ev("concluded", "2024-03-27 10:00", outcome="approved"),  # 2 days after the result
    ]
    assert real_alerts(events) == [
        ("tax_overdue", t("2024-03-13 09:00")),
        ("sla_warning", t("2024-03-21 09:00")),
        ("late_extension", t("2024-03-21 10:00")),
        ("sla_breach", t("2024-03-23 00:00")),
        ("open_after_completion", t("2024-03-26 10:00")),
    ]


# -- candidates and ids -----------------------------------------------------------------

def test_candidates_describe_the_dossier():
    s = fold([REC, ev("transferred", "2024-03-05 09:00", to_unit=BRANCH)])
    specs = candidates(s, t("2024-03-05 09:00"), RULES)
    assert [(a.kind, a.dossier_id, a.unit, a.receiving_unit, a.procedure_code, a.due_at) for a in specs] == [
        ("sla_warning", DOSSIER, BRANCH, DESK, TRANSFER, t("2024-03-14 09:00")),
        ("sla_breach", DOSSIER, BRANCH, DESK, TRANSFER, t("2024-03-14 09:00")),
    ]


def test_candidates_keep_only_those_firing_at_or_after_since():
    s = fold([REC])
    assert [a.kind for a in candidates(s, t("2024-03-13 09:00"), RULES)] == ["sla_warning", "sla_breach"]
    assert [a.kind for a in candidates(s, t("2024-03-13 09:00:00.001"), RULES)] == ["sla_breach"]


def test_no_candidates_before_received():
    assert candidates(DossierState(DOSSIER), t("2024-03-04 09:00"), RULES) == []


def test_alert_id_is_deterministic():
    at = t("2024-03-14 23:59:59.999")
    assert alert_id(DOSSIER, "sla_breach", at) == alert_id(DOSSIER, "sla_breach", at.astimezone(timezone.utc))


@pytest.mark.parametrize(
    "other",
    [
        pytest.param((DOSSIER, "sla_warning", t("2024-03-14 23:59:59.999"), ""), id="another kind"),
        pytest.param((DOSSIER, "sla_breach", t("2024-03-15 23:59:59.999"), ""), id="another time"),
        pytest.param((DOSSIER, "sla_breach", t("2024-03-14 23:59:59.998"), ""), id="a millisecond apart"),
        pytest.param(("000.22.31.H53-240304-0008", "sla_breach", t("2024-03-14 23:59:59.999"), ""), id="another dossier"),
        pytest.param((DOSSIER, "sla_breach", t("2024-03-14 23:59:59.999"), "x"), id="another extra"),
    ],
)
def test_alert_ids_differ_by_dossier_kind_time_and_extra(other):
    assert alert_id(DOSSIER, "sla_breach", t("2024-03-14 23:59:59.999")) != alert_id(*other)


def test_the_same_events_give_the_same_distinct_ids():
    events = [REC, ev("sent_to_tax", "2024-03-14 10:00"), ev("extended", "2024-03-15 09:00", new_due_at="2024-03-20 17:00")]
    first = DossierHistory.from_events(DOSSIER, events, RULES).alerts()
    again = DossierHistory.from_events(DOSSIER, list(reversed(events)), RULES).alerts()
    assert sorted(first) == sorted(again)
    assert sorted(a.kind for a in first.values()) == ["late_extension", "sla_breach", "sla_warning", "tax_overdue"]


def test_alert_id_is_a_short_hex_string():
    aid = alert_id(DOSSIER, "sla_breach", t("2024-03-14 23:59:59.999"))
    assert len(aid) == 24 and set(aid) <= set("0123456789abcdef")


def test_alert_fire_times_are_aware():
    assert all(a.fires_at.utcoffset() == timedelta(hours=7) for a in DossierHistory.from_events(DOSSIER, [REC], RULES).alerts().values())
