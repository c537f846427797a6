"""An event for a dossier never received, or impossible at its place, waits one lateness
window (10 minutes here) for the event that would make it possible, then becomes its
dead letter.
"""

from __future__ import annotations

import orjson

from tests.core.builders import (
    BRANCH,
    DESK,
    DOSSIER,
    DUE_AT,
    TRANSFER,
    event,
    received,
    t,
    types,
)
from tests.core.conftest import Driver

# -- events that wait for the lateness window --------------------------------------

def test_an_event_for_a_never_received_dossier_waits_the_lateness_then_is_unknown_dossier(driver: Driver):
    (neighbour,) = driver.same_partition(DOSSIER)
    orphan = event("transferred", "2024-03-04 09:00", to_unit=BRANCH)

    first = driver.push(orphan)
    inside = driver.push(received("2024-03-04 09:09:59.999", dossier=neighbour))
    closed = driver.push(event("transferred", "2024-03-04 09:10", neighbour, to_unit=BRANCH))

    assert (first.events, first.dlq, inside.dlq) == ([], [], [])
    assert [(d.source, d.raw, d.error_code) for d in closed.dlq] == [("f.jsonl:1", orjson.dumps(orphan), "unknown_dossier")]
    assert [r["error_code"] for r in driver.dead_letters()] == ["unknown_dossier"]
    assert DOSSIER not in driver.state()


def test_a_received_arriving_after_its_dossiers_event_within_the_lateness_applies_both(driver: Driver):
    driver.push(event("transferred", "2024-03-04 09:05", to_unit=BRANCH))
    out = driver.push(received("2024-03-04 09:00"))
    driver.finish(t("2024-03-05 09:00"))

    assert types(out) == ["received", "transferred"]
    assert driver.dead_letters() == [] and driver.dlq() == []
    row = driver.state()[DOSSIER]
    assert (row["current_unit"], row["status"], row["due_at"]) == (BRANCH, "open", t(DUE_AT))
    assert driver.stats["applied"] == 2


def test_an_event_after_concluded_becomes_invalid_transition_once_the_watermark_passes_it(driver: Driver):
    (neighbour,) = driver.same_partition(DOSSIER)
    driver.push(received("2024-03-04 09:00"), event("concluded", "2024-03-05 10:00", outcome="approved"))
    impossible = event("transferred", "2024-03-05 11:00", to_unit=BRANCH)

    first = driver.push(impossible)
    inside = driver.push(received("2024-03-05 11:09", dossier=neighbour))
    closed = driver.push(event("transferred", "2024-03-05 11:10", neighbour, to_unit=BRANCH))

    assert (first.events, first.dlq, inside.dlq) == ([], [], [])
    assert [(d.source, d.error_code) for d in closed.dlq] == [("f.jsonl:3", "invalid_transition")]
    assert [r["error_code"] for r in driver.dead_letters()] == ["invalid_transition"]
    assert driver.state()[DOSSIER]["current_unit"] == DESK


def test_what_still_waits_at_finish_becomes_a_dead_letter(driver: Driver):
    driver.push(event("transferred", "2024-03-04 09:00", to_unit=BRANCH))

    out = driver.finish(t("2024-03-04 09:05"))

    assert [d.error_code for d in out.dlq] == ["unknown_dossier"]


def test_a_payment_arriving_before_its_late_sent_to_tax_is_applied_not_dead_lettered(driver: Driver):
    driver.push(received("2024-03-04 09:00", TRANSFER))
    paid = driver.push(event("obligation_paid", "2024-03-04 10:05", channel="online"))
    sent = driver.push(event("sent_to_tax", "2024-03-04 10:00", tax_office="CCT-TN"))
    driver.finish(t("2024-03-04 12:00"))

    assert paid.events == []
    assert types(sent) == ["sent_to_tax", "obligation_paid"]
    assert driver.dead_letters() == []
    row = driver.state()[DOSSIER]
    assert (row["sent_to_tax_at"], row["paid_at"], row["payment_channel"]) == (
        t("2024-03-04 10:00"), t("2024-03-04 10:05"), "online")
    # One hour used before the tax pause; the other 63 run from 10:05.
    assert (row["status"], row["due_at"]) == ("open", t("2024-03-14 09:05"))
    assert driver.stats["late"] == 0
