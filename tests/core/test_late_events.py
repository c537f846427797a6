"""An event beyond the allowed lateness is still applied, counted late, and retracts the
alerts it proves false.
"""

from __future__ import annotations

from datetime import timedelta

from stream_app.core.output import Record
from tests.core.builders import (
    BRANCH,
    TRANSFER,
    DOSSIER,
    alerts_of,
    event,
    kinds,
    pick,
    received,
    t,
    types,
)
from tests.core.conftest import Clock, Driver

# -- late events and retractions ---------------------------------------------------

def test_a_late_event_that_proves_a_fired_alert_false_retracts_it(driver: Driver, clock: Clock):
    driver.push(received("2024-03-04 09:00"))
    fired = driver.advance(t("2024-03-12 00:00"))
    breach = next(a for a in alerts_of(fired) if a["kind"] == "sla_breach")
    clock.tick(timedelta(hours=1))

    out = driver.push(event("concluded", "2024-03-11 10:00", outcome="approved"))

    assert [pick(a, "alert_id", "kind", "emitted_at", "retracted", "version") for a in alerts_of(out)] == [
        (breach["alert_id"], "sla_breach", breach["emitted_at"], True, 2),
    ]
    assert types(out) == ["concluded"]  # still applied
    assert driver.stats["late"] == 1
    assert driver.stats["retracted"] == 1
    row = driver.state()[DOSSIER]
    assert (row["status"], row["finished_at"], row["classification"]) == ("finished", t("2024-03-11 10:00"), "on_time")


def test_a_late_event_that_changes_no_fired_alert_retracts_nothing(driver: Driver):
    driver.push(received("2024-03-04 09:00"))
    driver.advance(t("2024-03-12 00:00"))

    out = driver.push(event("transferred", "2024-03-05 09:00", to_unit=BRANCH))

    assert out.alerts == []
    assert driver.stats["late"] == 1 and driver.stats["retracted"] == 0
    assert driver.state()[DOSSIER]["current_unit"] == BRANCH


def test_an_event_at_the_watermark_itself_is_late_because_its_timers_have_fired(driver: Driver):
    (neighbour,) = driver.same_partition(DOSSIER)
    driver.push(received("2024-03-04 09:00"))
    fired = driver.push(received("2024-03-08 09:10", dossier=neighbour))  # watermark 8/3 09:00

    out = driver.push(event("concluded", "2024-03-08 09:00", outcome="approved"))

    assert kinds(fired) == ["sla_warning"]
    assert [pick(a, "kind", "retracted") for a in alerts_of(out)] == [("sla_warning", True)]
    assert driver.stats["late"] == 1


def test_a_duplicate_of_an_old_event_is_not_counted_late(driver: Driver):
    driver.push(received("2024-03-04 09:00"))
    driver.advance(t("2024-03-12 00:00"))

    out = driver.push(received("2024-03-04 09:00"))  # redelivered after a restart

    assert (out.events, out.alerts, out.state_rows) == ([], [], [])
    assert driver.stats["duplicates"] == 1
    assert driver.stats["late"] == 0


def test_a_bad_record_from_a_partition_beyond_the_configured_count_is_still_dead_lettered(driver: Driver):
    rec = driver.record(b"not json", dossier_id=DOSSIER)
    stray = Record(raw=rec.raw, key=rec.key, partition=7, offset=0, source="dossier.events/7/0")

    out = driver.push(stray)

    assert [(d.source, d.error_code) for d in out.dlq] == [("dossier.events/7/0", "invalid_json")]


def test_an_alert_retracted_by_a_late_event_and_made_real_again_by_a_later_one_is_emitted_again(
        driver: Driver, clock: Clock):
    """A transfer received Mon 4/3 09:00 is due Thu 14/3 09:00; its breach fires at 00:00
    Fri 15/3. A late `sent_to_tax` of Wed 13/3 10:00 pauses the clock: the breach is
    retracted. A later late `obligation_paid` of 13/3 11:00 resumes it with the 7 hours
    left: due 14/3 10:00, the breach at 00:00 15/3 again — the same alert, emitted again."""
    driver.push(received("2024-03-04 09:00", TRANSFER))
    (breach,) = [a for a in alerts_of(driver.advance(t("2024-03-16 00:00"))) if a["kind"] == "sla_breach"]
    clock.tick(timedelta(hours=1))
    retraction = driver.push(event("sent_to_tax", "2024-03-13 10:00", tax_office="CCT-TN"))
    clock.tick(timedelta(hours=1))
    again = driver.push(event("obligation_paid", "2024-03-13 11:00", channel="online"))

    assert [pick(a, "alert_id", "retracted", "version") for a in alerts_of(retraction)] == [
        (breach["alert_id"], True, 2)]
    assert [pick(a, "alert_id", "kind", "fires_at", "retracted", "version") for a in alerts_of(again)] == [
        (breach["alert_id"], "sla_breach", t("2024-03-15 00:00"), False, 3)]
    assert alerts_of(again)[0]["emitted_at"] == clock()  # emitted now, not when it first fired
    assert driver.stats["reissued"] == 1
    assert driver.state()[DOSSIER]["classification"] == "open_overdue"
