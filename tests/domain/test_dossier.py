"""The dossier state machine: every rule of docs/domain.md, with hand-computed times.

Working days: Mon-Fri minus holidays plus make-up Saturdays; office hours 07:00-11:30
and 13:30-17:00 (8 h = 1 working day). "+N days" from a moment inside office hours
lands at the same clock time N working days later. In March 2024 there is no holiday:
Mon 4/3, Tue 5, ..., Fri 8, Mon 11, ..., Fri 15, Mon 18, ...
"""

import copy
from datetime import timedelta

import pytest

from stream_app.domain.codes import INVALID_TRANSITION
from stream_app.domain.dossier import DossierState
from tests.domain.builders import (
    BRANCH,
    DESK,
    DOSSIER,
    EXCHANGE,
    FIRST_REGISTRATION,
    REVOCATION,
    RULES,
    SHIFT,
    SPLIT,
    TRANSFER,
    UNKNOWN,
    ev,
    fold,
    received,
    t,
)

H = timedelta(hours=1)
DAY = 8 * H

# The running example: a transfer (8 days) received Monday 4/3/2024 09:00 is due
# Thursday 14/3/2024 09:00 (docs/domain.md's own example).
REC = received("2024-03-04 09:00", TRANSFER)


# -- due time ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("at", "code", "due"),
    [
        # Tue5 Wed6 Thu7 Fri8 Mon11 Tue12 Wed13 Thu14 = 8 days, same clock time.
        pytest.param("2024-03-04 09:00", TRANSFER, "2024-03-14 09:00", id="DOMAIN: Monday 09:00 + 8 days -> Thursday next week 09:00"),
        # 18:00 -> clock starts Tue 5/3 07:00; 5 full days Tue5..Mon11 end 17:00.
        pytest.param("2024-03-04 18:00", EXCHANGE, "2024-03-11 17:00", id="after 17:00: starts 07:00 next working day"),
        # exactly 17:00 is already closed: same as the evening.
        pytest.param("2024-03-04 17:00", EXCHANGE, "2024-03-11 17:00", id="at 17:00 sharp"),
        # 12:15 -> 13:30; Mon 3.5h + Tue..Fri 32h = 35.5h; Mon 11/3 07:00 + 4.5h = 11:30.
        pytest.param("2024-03-04 12:15", EXCHANGE, "2024-03-11 11:30", id="at lunch: starts 13:30, due 11:30 (not 13:30)"),
        # 05:30 -> 07:00 Mon; 5 full days Mon4..Fri8.
        pytest.param("2024-03-04 05:30", EXCHANGE, "2024-03-08 17:00", id="before 07:00: starts 07:00"),
        # Sunday 3/3 -> Mon 4/3 07:00; 5 full days Mon4..Fri8.
        pytest.param("2024-03-03 10:00", EXCHANGE, "2024-03-08 17:00", id="on Sunday: starts Monday 07:00"),
        # Tết 2024 is Thu 8/2..Wed 14/2: Thu15(1) Fri16(2) Mon19(3) Tue20(4) Wed21(5) Thu22(6) Fri23(7) Mon26(8).
        pytest.param("2024-02-07 09:00", TRANSFER, "2024-02-26 09:00", id="Tet 2024 skipped"),
        # Received during Tết, Fri 9/2 -> Thu 15/2 07:00; Thu15..Wed21 = 5 full days.
        pytest.param("2024-02-09 10:00", EXCHANGE, "2024-02-21 17:00", id="received during Tet 2024"),
        # 2024: Mon 29/4 off (swap), Tue 30/4 and Wed 1/5 holidays, Sat 4/5 worked:
        # Thu2/5(1) Fri3(2) Sat4(3) Mon6(4) Tue7(5).
        pytest.param("2024-04-26 09:00", EXCHANGE, "2024-05-07 09:00", id="2024 swap: 29/4 off, Saturday 4/5 worked"),
        # 2026: Thu 1/1 holiday, Fri 2/1 off (swap), Sat 10/1 worked:
        # Mon5(1) Tue6(2) Wed7(3) Thu8(4) Fri9(5) Sat10(6) Mon12(7) Tue13(8).
        pytest.param("2025-12-31 09:00", TRANSFER, "2026-01-13 09:00", id="2026 swap: 2/1 off, Saturday 10/1 worked"),
        # 2026: Sat 22/8 worked, Mon 31/8 off, Tue 1/9 and Wed 2/9 holidays:
        # Fri21(1) Sat22(2) Mon24(3) Tue25(4) Wed26(5) Thu27(6) Fri28(7) Thu3/9(8).
        pytest.param("2026-08-20 09:00", TRANSFER, "2026-09-03 09:00", id="2026 swap: Saturday 22/8 worked, 31/8 off"),
        # Hùng Kings day Thu 18/4/2024: Tue9(1) .. Wed17(7) Fri19(8) Mon22(9) Tue23(10) Wed24(11) Thu25(12).
        pytest.param("2024-04-08 09:00", SPLIT, "2024-04-25 09:00", id="split 12 days over Hung Kings day"),
        # 20 days = 4 weeks.
        pytest.param("2024-03-04 09:00", FIRST_REGISTRATION, "2024-04-01 09:00", id="first registration 20 days"),
        # 25 days = 5 weeks.
        pytest.param("2024-03-04 09:00", REVOCATION, "2024-04-08 09:00", id="revocation 25 days"),
    ],
)
def test_due_time(at, code, due):
    s = fold([received(at, code)])
    assert (s.due_at, s.status) == (t(due), "open")


def test_received_records_units_channel_and_procedure():
    s = fold([REC])
    assert (s.procedure_code, s.procedure_known, s.receiving_unit, s.current_unit, s.channel, s.received_at, s.limit) == (
        TRANSFER, True, DESK, DESK, "direct", t("2024-03-04 09:00"), 8 * DAY,
    )


def test_received_in_another_utc_offset_gives_the_same_due_time():
    # 02:00 UTC is 09:00 in Hà Nội.
    assert fold([received("2024-03-04 02:00+00:00")]).due_at == t("2024-03-14 09:00")


def test_a_received_dossier_is_open_before_its_clock_starts():
    s = fold([received("2024-03-04 18:00", EXCHANGE)])
    assert (s.status, s.running_since) == ("open", t("2024-03-05 07:00"))


# -- supplement: restart (default) or shift ---------------------------------------------

SUPPLEMENT_REQUESTED = ev("supplement_requested", "2024-03-06 09:00")  # used: Mon 6h + Tue 8h + Wed 2h = 2 days


@pytest.mark.parametrize(
    ("rules", "back_at", "due"),
    [
        # Restart: 8 full days from Mon 11/3 09:00 -> Thu 21/3 09:00.
        pytest.param(RULES, "2024-03-11 09:00", "2024-03-21 09:00", id="restart from zero"),
        # Shift: 6 days left; Tue12(1) Wed13(2) Thu14(3) Fri15(4) Mon18(5) Tue19(6).
        pytest.param(SHIFT, "2024-03-11 09:00", "2024-03-19 09:00", id="shift by the waiting time"),
        # Back in the evening: the clock resumes Tue 12/3 07:00. Restart: Tue12..Thu21 full days.
        pytest.param(RULES, "2024-03-11 18:00", "2024-03-21 17:00", id="restart, supplement back after hours"),
        # Shift: 6 full days Tue12..Tue19.
        pytest.param(SHIFT, "2024-03-11 18:00", "2024-03-19 17:00", id="shift, supplement back after hours"),
    ],
)
def test_supplement_moves_the_due_time(rules, back_at, due):
    s = fold([REC, SUPPLEMENT_REQUESTED, ev("supplement_received", back_at)], rules)
    assert (s.due_at, s.status, s.supplement_count) == (t(due), "open", 1)


@pytest.mark.parametrize("rules", [RULES, SHIFT], ids=["restart", "shift"])
def test_while_waiting_for_a_supplement_the_dossier_is_paused_without_due_time(rules):
    s = fold([REC, SUPPLEMENT_REQUESTED], rules)
    assert (s.status, s.due_at, s.used, s.supplement_requested_at) == ("paused", None, 2 * DAY, t("2024-03-06 09:00"))


def test_restart_opens_a_new_budget_cycle_and_shift_does_not():
    events = [REC, SUPPLEMENT_REQUESTED, ev("supplement_received", "2024-03-11 09:00")]
    assert (fold(events, RULES).cycle, fold(events, SHIFT).cycle) == (1, 0)


def test_two_supplements_restart_twice():
    s = fold([
        REC, SUPPLEMENT_REQUESTED, ev("supplement_received", "2024-03-11 09:00"),
        ev("supplement_requested", "2024-03-12 09:00"), ev("supplement_received", "2024-03-13 09:00"),
    ])
    # 8 days from Wed 13/3 09:00: Thu14 .. Fri22(7) Mon25(8).
    assert (s.due_at, s.supplement_count, s.cycle) == (t("2024-03-25 09:00"), 2, 2)


def test_supplement_requested_after_the_due_time_keeps_the_due_time_while_paused():
    # Fri 15/3 is a day after the due time Thu 14/3 09:00: the budget is spent.
    s = fold([REC, ev("supplement_requested", "2024-03-15 09:00")])
    assert (s.status, s.due_at, s.frozen_due) == ("paused", t("2024-03-14 09:00"), True)


@pytest.mark.parametrize(
    ("rules", "due"),
    [
        # Restart from Mon 18/3 09:00: Tue19(1) .. Fri22(4) Mon25(5) .. Thu28(8).
        pytest.param(RULES, "2024-03-28 09:00", id="restart gives a fresh due time"),
        pytest.param(SHIFT, "2024-03-14 09:00", id="shift keeps the missed due time"),
    ],
)
def test_supplement_received_after_the_due_time(rules, due):
    s = fold([REC, ev("supplement_requested", "2024-03-15 09:00"), ev("supplement_received", "2024-03-18 09:00")], rules)
    assert (s.status, s.due_at) == ("open", t(due))


# -- tax: the land clock pauses, the tax clock runs ------------------------------------

SENT = ev("sent_to_tax", "2024-03-06 09:00", tax_office="CCT-H53")  # used 2 days, 6 left


def test_sent_to_tax_pauses_the_land_clock_and_starts_the_tax_clock():
    s = fold([REC, SENT])
    # Tax: 5 days from Wed 6/3 09:00 -> Wed 13/3 09:00.
    assert (s.status, s.due_at, s.used, s.sent_to_tax_at, s.tax_office, s.tax_due_at) == (
        "paused", None, 2 * DAY, t("2024-03-06 09:00"), "CCT-H53", t("2024-03-13 09:00"),
    )


@pytest.mark.parametrize(
    ("paid_at", "due"),
    [
        # 6 days left from Tue 12/3 09:00: Wed13(1) Thu14 Fri15 Mon18 Tue19 Wed20(6).
        pytest.param("2024-03-12 09:00", "2024-03-20 09:00", id="paid on a working day"),
        # Paid online on Saturday 16/3: resumes Mon 18/3 07:00, 6 full days Mon18..Mon25.
        pytest.param("2024-03-16 10:00", "2024-03-25 17:00", id="paid on a Saturday"),
    ],
)
def test_obligation_paid_resumes_the_land_clock(paid_at, due):
    s = fold([REC, SENT, ev("tax_notice_issued", "2024-03-08 10:00"), ev("obligation_paid", paid_at, channel="online")])
    assert (s.status, s.due_at, s.tax_notice_at, s.paid_at, s.payment_channel) == (
        "open", t(due), t("2024-03-08 10:00"), t(paid_at), "online",
    )


@pytest.mark.parametrize(
    ("received_at", "sent_at", "tax_due"),
    [
        # Before 1/7/2026: 5 days. Wed1/7(1) Thu2(2) Fri3(3) Mon6(4) Tue7(5).
        pytest.param("2026-06-29 09:00", "2026-06-30 09:00", "2026-07-07 09:00", id="5 days on 30/6/2026"),
        # From 1/7/2026: 3 days. Thu2(1) Fri3(2) Mon6(3).
        pytest.param("2026-06-29 09:00", "2026-07-01 09:00", "2026-07-06 09:00", id="3 days from 1/7/2026"),
        # Slip sent Friday 16:00: Mon11(1) .. Fri15(5) 16:00.
        pytest.param("2024-03-04 09:00", "2024-03-08 16:00", "2024-03-15 16:00", id="sent Friday 16:00"),
        # Slip sent after hours: tax clock starts Thu 7/3 07:00; 5 full days Thu7..Wed13.
        pytest.param("2024-03-04 09:00", "2024-03-06 18:00", "2024-03-13 17:00", id="sent after 17:00"),
    ],
)
def test_tax_due_time_is_effective_dated_by_the_day_the_slip_is_sent(received_at, sent_at, tax_due):
    s = fold([received(received_at, TRANSFER), ev("sent_to_tax", sent_at)])
    assert s.tax_due_at == t(tax_due)


def test_a_procedure_without_a_tax_limit_gets_the_decree_default_of_5_days():
    s = fold([received("2024-03-04 09:00", EXCHANGE), SENT])
    assert s.tax_due_at == t("2024-03-13 09:00")


def test_sent_to_tax_after_the_due_time_keeps_the_due_time():
    s = fold([REC, ev("sent_to_tax", "2024-03-14 10:00")])
    assert (s.status, s.due_at, s.frozen_due) == ("paused", t("2024-03-14 09:00"), True)


# -- extensions (apology letter with a new date) --------------------------------------

@pytest.mark.parametrize(
    ("at", "late"),
    [
        pytest.param("2024-03-11 09:00", False, id="3 days before due"),
        # Wed 13/3 09:00 -> Thu 14/3 09:00 is exactly 8 h.
        pytest.param("2024-03-13 09:00", False, id="exactly 1 working day before"),
        # 8 h minus 1 ms left.
        pytest.param("2024-03-13 09:00:00.001", True, id="1 ms less than 1 working day before"),
        # Wed 08:00: 3.5 + 3.5 + 2 = 9 h left.
        pytest.param("2024-03-13 08:00", False, id="9 working hours before"),
        # Wed 12:00 at lunch: 3.5 + 2 = 5.5 h left.
        pytest.param("2024-03-13 12:00", True, id="lunch the day before: 5.5 h left"),
        # Wed 18:00: only Thu 07:00-09:00 = 2 h left.
        pytest.param("2024-03-13 18:00", True, id="the evening before: 2 h left"),
        # Tue 12/3 18:00: Wed 8 h + Thu 2 h = 10 h left.
        pytest.param("2024-03-12 18:00", False, id="two evenings before: 10 h left"),
        pytest.param("2024-03-14 09:00", True, id="at the due time"),
        pytest.param("2024-03-15 10:00", True, id="after the due time"),
    ],
)
def test_extension_is_late_when_less_than_1_working_day_is_left(at, late):
    s = fold([REC, ev("extended", at, new_due_at="2024-03-20 17:00")])
    assert (s.extensions, s.extended_due_at) == ([(f"extended@{at}", t(at), late)], t("2024-03-20 17:00"))


def test_a_second_extension_is_late_even_when_early():
    s = fold([
        REC,
        ev("extended", "2024-03-05 09:00", new_due_at="2024-03-20 17:00"),
        ev("extended", "2024-03-06 09:00", new_due_at="2024-03-22 17:00"),
    ])
    assert ([late for *_, late in s.extensions], s.extended_due_at) == ([False, True], t("2024-03-22 17:00"))


@pytest.mark.parametrize(
    ("sent_at", "late"),
    # While the clock is paused the time left is what was left at the pause.
    [
        pytest.param("2024-03-11 09:00", False, id="paused with 3 days left"),
        # Wed 13/3 10:00: 7 h left (Wed 10:00-11:30, 13:30-17:00, Thu 07:00-09:00).
        pytest.param("2024-03-13 10:00", True, id="paused with 7 h left"),
    ],
)
def test_extension_while_paused_counts_the_time_left_at_the_pause(sent_at, late):
    s = fold([REC, ev("sent_to_tax", sent_at), ev("extended", "2024-03-18 09:00", new_due_at="2024-03-29 17:00")])
    assert s.extensions[0][2] is late


def test_extension_keeps_the_original_due_time_and_classification():
    s = fold([
        REC,
        ev("extended", "2024-03-11 09:00", new_due_at="2024-03-20 17:00"),
        ev("concluded", "2024-03-18 10:00", outcome="approved"),
    ])
    assert (s.due_at, s.extended_due_at, s.finish_classification(RULES.calendar)) == (
        t("2024-03-14 09:00"), t("2024-03-20 17:00"), "overdue",
    )


def test_extension_of_an_unknown_procedure_is_late_only_the_second_time():
    s = fold([
        received("2024-03-04 09:00", UNKNOWN),
        ev("extended", "2024-03-05 09:00", new_due_at="2024-03-20 17:00"),
        ev("extended", "2024-03-06 09:00", new_due_at="2024-03-22 17:00"),
    ])
    assert [late for *_, late in s.extensions] == [False, True]


# -- the end: conclusion, withdrawal, unknown procedures --------------------------------

@pytest.mark.parametrize(
    ("finished_at", "classification"),
    # Due Thu 14/3/2024 09:00: the date decides, not the time.
    [
        pytest.param("2024-03-13 16:00", "early", id="day before the due date"),
        pytest.param("2024-03-14 08:00", "on_time", id="due date, before the due time"),
        pytest.param("2024-03-14 15:00", "on_time", id="due date, after the due time"),
        pytest.param("2024-03-14 23:59:59.999", "on_time", id="last millisecond of the due date"),
        pytest.param("2024-03-15 00:00", "overdue", id="00:00 the next day"),
    ],
)
def test_classification_by_local_calendar_date(finished_at, classification):
    s = fold([REC, ev("concluded", finished_at, outcome="approved")])
    assert (s.status, s.finish_classification(RULES.calendar)) == ("finished", classification)


def test_classification_uses_the_local_date_whatever_the_offset():
    # 17:30 UTC on 14/3 is 00:30 on 15/3 in Hà Nội.
    done = ev("concluded", "2024-03-14 17:30+00:00", outcome="approved")
    assert fold([REC, done]).finish_classification(RULES.calendar) == "overdue"


def test_open_dossier_has_no_finish_classification():
    assert fold([REC]).finish_classification(RULES.calendar) is None


def test_concluded_records_the_end():
    s = fold([REC, ev("concluded", "2024-03-12 10:00", outcome="approved")])
    assert (s.status, s.finished_at, s.outcome, s.due_at, s.running_since) == (
        "finished", t("2024-03-12 10:00"), "approved", t("2024-03-14 09:00"), None,
    )


def test_concluded_without_outcome_counts_as_approved():
    assert fold([REC, ev("concluded", "2024-03-12 10:00")]).outcome == "approved"


def test_rejected_is_a_conclusion_classified_like_any_other():
    s = fold([REC, ev("concluded", "2024-03-15 10:00", outcome="rejected")])
    assert (s.status, s.outcome, s.finish_classification(RULES.calendar)) == ("finished", "rejected", "overdue")


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([REC, ev("withdrawn", "2024-03-06 09:00")], id="before the due date"),
        pytest.param([REC, ev("withdrawn", "2024-03-20 09:00")], id="after the due date"),
        pytest.param([REC, SENT, ev("withdrawn", "2024-03-20 09:00")], id="while at tax"),
    ],
)
def test_withdrawal_finishes_on_time(events):
    s = fold(events)
    assert (s.status, s.outcome, s.finish_classification(RULES.calendar)) == ("finished", "withdrawn", "on_time")


def test_unknown_procedure_has_no_due_time():
    s = fold([received("2024-03-04 09:00", UNKNOWN)])
    assert (s.procedure_known, s.limit, s.due_at, s.status) == (False, None, None, "open")


def test_unknown_procedure_finishes_on_time_even_late():
    s = fold([received("2024-03-04 09:00", UNKNOWN), ev("concluded", "2024-06-04 09:00", outcome="approved")])
    assert (s.due_at, s.finish_classification(RULES.calendar)) == (None, "on_time")


def test_concluded_while_at_tax_is_judged_as_if_the_clock_resumed_then():
    # 6 days left at the pause; concluded Tue 12/3 09:00 -> due Wed 20/3 09:00.
    s = fold([REC, SENT, ev("concluded", "2024-03-12 09:00", outcome="rejected")])
    assert (s.due_at, s.finish_classification(RULES.calendar)) == (t("2024-03-20 09:00"), "early")


def test_results_are_recorded_once_each():
    s = fold([
        REC,
        ev("result_attached", "2024-03-12 10:00", document_ref="KQ-1", signed=True),
        ev("concluded", "2024-03-12 11:00"),
        ev("result_returned", "2024-03-13 09:00"),
        ev("result_attached", "2024-03-13 10:00", document_ref="KQ-2", signed=False),
    ])
    assert (s.result_attached_at, s.signed, s.result_returned_at, s.first_result_at) == (
        t("2024-03-12 10:00"), True, t("2024-03-13 09:00"), t("2024-03-12 10:00"),
    )


# -- transfers --------------------------------------------------------------------------

def test_transfer_moves_the_dossier_and_tallies_each_unit_working_hours():
    s = fold([
        REC,
        ev("transferred", "2024-03-05 09:00", to_unit=BRANCH),  # desk: Mon 6 h + Tue 2 h = 8 h
        ev("concluded", "2024-03-07 09:00", agency_code=BRANCH),  # branch: Tue 6 h + Wed 8 h + Thu 2 h = 16 h
    ])
    assert (s.receiving_unit, s.current_unit, s.unit_hours) == (DESK, BRANCH, {DESK: 8.0, BRANCH: 16.0})


# -- impossible steps -------------------------------------------------------------------

NOTICE = ev("tax_notice_issued", "2024-03-07 09:00")
CONCLUDED = ev("concluded", "2024-03-07 09:00", outcome="approved")
WITHDRAWN = ev("withdrawn", "2024-03-07 09:00")
LATER = "2024-03-08 10:00"


@pytest.mark.parametrize(
    ("before", "step"),
    [
        pytest.param([], ev("transferred", LATER, to_unit=BRANCH), id="an event before received"),
        pytest.param([], ev("concluded", LATER), id="concluded before received"),
        pytest.param([REC], received(LATER, EXCHANGE, event_id="second"), id="second received"),
        pytest.param([REC], ev("tax_notice_issued", LATER), id="tax notice without sent_to_tax"),
        pytest.param([REC], ev("obligation_paid", LATER), id="obligation paid without sent_to_tax"),
        pytest.param([REC], ev("supplement_received", LATER), id="supplement received without a request"),
        pytest.param([REC, SUPPLEMENT_REQUESTED], ev("supplement_requested", LATER), id="supplement requested twice"),
        pytest.param([REC, SUPPLEMENT_REQUESTED], ev("sent_to_tax", LATER), id="sent to tax while waiting for a supplement"),
        pytest.param([REC, SUPPLEMENT_REQUESTED], ev("obligation_paid", LATER), id="paid while waiting for a supplement"),
        pytest.param([REC, SENT], ev("sent_to_tax", LATER), id="sent to tax twice"),
        pytest.param([REC, SENT], ev("supplement_requested", LATER), id="supplement requested while at tax"),
        pytest.param([REC, SENT], ev("supplement_received", LATER), id="supplement received while at tax"),
        pytest.param([REC, SENT, NOTICE], ev("tax_notice_issued", LATER), id="second tax notice"),
        pytest.param([REC, CONCLUDED], ev("transferred", LATER, to_unit=BRANCH), id="transferred after concluded"),
        pytest.param([REC, CONCLUDED], ev("supplement_requested", LATER), id="supplement requested after concluded"),
        pytest.param([REC, CONCLUDED], ev("sent_to_tax", LATER), id="sent to tax after concluded"),
        pytest.param([REC, CONCLUDED], ev("extended", LATER, new_due_at="2024-03-20 17:00"), id="extended after concluded"),
        pytest.param([REC, CONCLUDED], ev("concluded", LATER), id="concluded twice"),
        pytest.param([REC, CONCLUDED], ev("withdrawn", LATER), id="withdrawn after concluded"),
        pytest.param([REC, CONCLUDED], received(LATER, event_id="again"), id="received after concluded"),
        pytest.param([REC, WITHDRAWN], ev("concluded", LATER), id="concluded after withdrawn"),
        pytest.param([REC, WITHDRAWN], ev("transferred", LATER, to_unit=BRANCH), id="transferred after withdrawn"),
    ],
)
def test_impossible_step_is_an_invalid_transition_and_changes_nothing(before, step):
    s = fold(before) if before else DossierState(DOSSIER)
    snapshot = copy.deepcopy(s)
    assert (s.apply(step, RULES), s) == (INVALID_TRANSITION, snapshot)


@pytest.mark.parametrize("kind", ["result_attached", "result_returned"])
@pytest.mark.parametrize("end", [CONCLUDED, WITHDRAWN], ids=["concluded", "withdrawn"])
def test_results_may_follow_the_end(kind, end):
    s = fold([REC, end])
    assert s.apply(ev(kind, LATER), RULES) is None


@pytest.mark.parametrize(
    "step",
    [
        ev("transferred", LATER, to_unit=BRANCH),
        ev("extended", LATER, new_due_at="2024-03-20 17:00"),
        ev("result_attached", LATER),
        ev("concluded", LATER, outcome="rejected"),
        ev("withdrawn", LATER),
    ],
    ids=lambda e: e.event_type,
)
def test_steps_allowed_while_at_tax(step):
    assert fold([REC, SENT]).apply(step, RULES) is None


def test_tax_may_be_paid_without_a_recorded_notice():
    s = fold([REC, SENT, ev("obligation_paid", "2024-03-12 09:00")])
    assert (s.status, s.tax_notice_at, s.due_at) == ("open", None, t("2024-03-20 09:00"))


def test_a_second_round_at_tax_after_payment_is_allowed():
    s = fold([REC, SENT, NOTICE, ev("obligation_paid", "2024-03-08 09:00"), ev("sent_to_tax", "2024-03-11 09:00")])
    # Second slip Mon 11/3 09:00 + 5 days -> Mon 18/3 09:00; the old notice is cleared.
    assert (s.status, s.tax_notice_at, s.tax_due_at) == ("paused", None, t("2024-03-18 09:00"))
