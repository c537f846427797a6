"""A valid record lands once as an event and a state; a repeat changes nothing; bad input
becomes a dead letter with its source and raw bytes (docs/contract.md §1).
"""

from __future__ import annotations

import orjson
import pytest
import structlog

from tests.core.builders import (
    BRANCH,
    DESK,
    DOSSIER,
    EXCHANGE,
    TRANSFER,
    event,
    events_of,
    pick,
    received,
    state_of,
    t,
    types,
)
from tests.core.conftest import Clock, Driver

# -- one valid event ---------------------------------------------------------------

def test_a_valid_received_lands_one_events_row_and_one_state_row(driver: Driver, clock: Clock):
    out = driver.push(received("2024-03-04 09:00", TRANSFER))

    assert [pick(r, "event_id", "dossier_id", "event_type", "occurred_at") for r in events_of(out)] == [
        (f"{DOSSIER}/received@2024-03-04 09:00", DOSSIER, "received", t("2024-03-04 09:00")),
    ]
    assert len(out.state_rows) == 1
    row = state_of(out.state_rows[0])
    assert row["dossier_id"] == DOSSIER
    assert row["procedure_code"] == TRANSFER
    assert row["receiving_unit"] == row["current_unit"] == DESK
    assert row["status"] == "open"
    assert row["received_at"] == t("2024-03-04 09:00")
    assert row["due_at"] == t("2024-03-14 09:00")
    assert row["classification"] == "open"
    assert row["version"] == 1
    assert row["updated_at"] == clock()
    assert out.dead_letters == [] and out.alerts == []
    assert driver.stats["applied"] == 1


def test_an_events_row_keeps_the_contract_fields_and_the_ingest_time(driver: Driver, clock: Clock):
    out = driver.push(received("2024-03-04 09:00", EXCHANGE, source_due_at=t("2024-03-11 09:00"), name="Nguyễn Văn A"))

    (row,) = driver.events()
    assert row["procedure_code"] == EXCHANGE
    assert row["channel"] == "direct"
    assert row["source_due_at"] == t("2024-03-11 09:00")
    assert row["ingested_at"] == clock()
    assert "Nguyễn Văn A" not in repr(out)  # fields outside the contract are never stored


def test_a_repeated_event_id_changes_nothing(driver: Driver):
    driver.push(received("2024-03-04 09:00"))
    again = received("2024-03-04 09:00", TRANSFER, agency=BRANCH)  # same event_id, other content

    out = driver.push(again)

    assert (out.events, out.state_rows, out.alerts, out.dead_letters) == ([], [], [], [])
    assert driver.stats["duplicates"] == 1
    assert driver.state()[DOSSIER]["procedure_code"] == EXCHANGE


# -- bad input ---------------------------------------------------------------------

BAD_RECORDS = {
    "invalid_json": b'{"event_id": "e1", "event_type": "received",',
    "schema_error": orjson.dumps({k: v for k, v in received("2024-03-04 09:00").items() if k != "procedure_code"}),
    "unknown_event_type": orjson.dumps(event("teleported", "2024-03-04 09:00")),
    "naive_timestamp": orjson.dumps({**received("2024-03-04 09:00"), "occurred_at": "2024-03-04T09:00:00"}),
}


@pytest.mark.parametrize("code", list(BAD_RECORDS))
def test_a_bad_record_becomes_a_dead_letters_row_and_a_dlq_message(driver: Driver, clock: Clock, code: str):
    raw = BAD_RECORDS[code]

    out = driver.push(driver.record(raw, dossier_id=DOSSIER))

    (row,) = driver.dead_letters()
    assert (row["received_at"], row["source"], row["raw"], row["error_code"]) == (clock(), "f.jsonl:1", raw, code)
    assert row["error_detail"]
    (dl,) = out.dlq
    assert (dl.source, dl.raw, dl.error_code) == ("f.jsonl:1", raw, code)
    assert (out.events, out.state_rows) == ([], [])
    assert driver.stats[f"dead_letter.{code}"] == 1


def test_a_bad_record_does_not_stop_the_rest_of_its_batch(driver: Driver):
    out = driver.push(driver.record(BAD_RECORDS["invalid_json"], dossier_id=DOSSIER), received("2024-03-04 09:00"))

    assert [r["error_code"] for r in driver.dead_letters()] == ["invalid_json"]
    assert types(out) == ["received"]
    assert [state_of(r)["status"] for r in out.state_rows] == ["open"]


def test_a_key_other_than_the_dossier_id_is_a_key_mismatch(driver: Driver):
    ev = received("2024-03-04 09:00")
    rec = driver.record(ev, key=b"000.22.31.H53-240304-9999")

    out = driver.push(rec)

    assert [(d.source, d.raw, d.error_code) for d in out.dlq] == [("f.jsonl:1", orjson.dumps(ev), "key_mismatch")]
    assert [r["error_code"] for r in driver.dead_letters()] == ["key_mismatch"]
    assert (out.events, out.state_rows) == ([], [])


def test_reaching_a_year_no_calendar_table_confirms_is_warned_about_once(make_driver):
    d = make_driver()
    with structlog.testing.capture_logs() as logs:
        d.push(received("2027-01-04 09:00", dossier="000.22.31.H53-270104-0001"))
        d.push(received("2027-01-05 09:00", dossier="000.22.31.H53-270105-0001"))
        d.push(received("2026-12-30 09:00", dossier="000.22.31.H53-261230-0001"))
    warned = [e for e in logs if e["event"] == "calendar.unconfirmed_year"]
    assert [e["year"] for e in warned] == [2027]
