"""A processor restored from the store carries on as if it had never stopped, and never
emits a fired alert again.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.core.builders import (
    BRANCH,
    DOSSIER,
    EXCHANGE,
    TRANSFER,
    UNKNOWN,
    alerts_of,
    comparable,
    event,
    pick,
    received,
    state_after,
    t,
)
from tests.core.conftest import Driver

# -- restore -----------------------------------------------------------------------

D1, D2, D3, D4, D5 = (f"000.22.31.H53-240304-{n:04d}" for n in range(1, 6))
STORY = sorted(
    [
        received("2024-03-04 09:00", EXCHANGE, D1),
        event("transferred", "2024-03-05 10:00", D1, to_unit=BRANCH),
        event("concluded", "2024-03-12 10:00", D1, agency=BRANCH, outcome="approved"),
        event("result_attached", "2024-03-12 11:00", D1, agency=BRANCH, document_ref="kq/1.pdf", signed=True),
        received("2024-03-04 10:00", TRANSFER, D2),
        event("sent_to_tax", "2024-03-06 09:00", D2, tax_office="CCT-TN"),
        event("tax_notice_issued", "2024-03-14 09:00", D2),  # tax limit 5 days: overdue since 13/3 09:00
        event("obligation_paid", "2024-03-14 14:00", D2, channel="counter"),
        event("concluded", "2024-03-18 09:00", D2, outcome="approved"),
        event("result_returned", "2024-03-18 10:00", D2),
        received("2024-03-05 08:30", EXCHANGE, D3),
        event("supplement_requested", "2024-03-06 09:00", D3),
        event("supplement_received", "2024-03-07 15:00", D3),
        event("extended", "2024-03-13 16:00", D3, new_due_at=t("2024-03-20 17:00")),
        received("2024-03-06 09:00", TRANSFER, D4),
        event("withdrawn", "2024-03-07 09:00", D4),
        received("2024-03-11 09:00", UNKNOWN, D5),
        event("result_attached", "2024-03-14 09:00", D5, document_ref="kq/5.pdf"),
    ],
    key=lambda e: e["occurred_at"],
)
STORY_END = t("2024-03-20 12:00")


def run_story(d: Driver, events: list[dict[str, Any]]) -> Driver:
    d.push_each(events)
    d.finish(STORY_END)
    return d


def test_the_story_spans_partitions_and_fires_alerts_on_both_sides_of_the_split(make_driver):
    d = run_story(make_driver(), STORY)

    assert len({d.processor.partition_of(x) for x in (D1, D2, D3, D4, D5)}) > 1
    assert sorted({a["kind"] for a in d.alerts()}) == [
        "late_extension", "missing_result", "open_after_completion", "sla_breach", "sla_warning", "tax_overdue"]
    assert d.dead_letters() == []


@pytest.mark.parametrize(("split", "fired_before"), [(5, 0), (11, 2), (13, 4), (16, 5), (18, 7)])
def test_a_restored_processor_carries_on_identically_and_never_re_emits_a_fired_alert(
        make_driver, split: int, fired_before: int):
    first, rest = STORY[:split], STORY[split:]
    a = make_driver()
    a.push_each(first)
    before = a.alert_ids()
    assert len(before) == fired_before
    b = make_driver(watermark=a.processor.low_watermark())
    b.processor.restore(a.stored())

    run_story(a, rest)
    run_story(b, rest)

    stored_then_b = {**state_after(a, upto=len(first)), **b.state()}
    assert comparable(stored_then_b) == comparable(a.state())
    assert before | b.alert_ids() == a.alert_ids()
    assert before.isdisjoint(b.alert_ids())
    assert b.dead_letters() == []


def test_a_restarted_worker_lets_its_backlog_move_time_by_its_own_clock(make_driver):
    """The stored watermark is the wall clock a live worker stopped at; the backlog it
    finds on restart is older. A backlog dossier's timers wait for its later events
    (one record per batch here: the worst case) instead of firing on its first one."""
    b = make_driver(watermark=t("2024-03-20 09:00"))

    b.push(received("2024-03-04 09:00"))
    b.push(event("concluded", "2024-03-06 09:00", outcome="approved"))
    b.push(event("result_attached", "2024-03-06 10:00"))
    b.advance(t("2024-03-20 09:00"))

    assert b.alerts() == []
    assert b.stats["late"] == 3
    assert b.state()[DOSSIER]["classification"] == "early"


def test_a_restored_processor_retracts_an_alert_fired_before_the_restart(make_driver):
    a = make_driver()
    a.push(received("2024-03-04 09:00"))
    a.advance(t("2024-03-12 00:00"))
    breach = next(x for x in a.alerts() if x["kind"] == "sla_breach")
    b = make_driver(watermark=a.processor.low_watermark())
    b.processor.restore(a.stored())

    out = b.push(event("concluded", "2024-03-11 10:00", outcome="approved"))

    assert [pick(a, "alert_id", "emitted_at", "retracted", "version") for a in alerts_of(out)] == [
        (breach["alert_id"], breach["emitted_at"], True, 2)]
    assert b.stats["restored"] == 1 and b.stats["late"] == 1
    assert b.state()[DOSSIER]["classification"] == "on_time"
