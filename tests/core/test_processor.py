"""The stream processor as a black box: push records, advance event time, read outputs.

CONTRACT §1–§2: valid events land once; duplicates change nothing; bad input becomes a
dead letter with its source and raw bytes; an event for a dossier never received, or
impossible at its place, waits one lateness window (10 minutes here) before it is
dead-lettered; timers fire on each partition's event time (stream time − lateness);
a late event still applies and retracts the alerts it proves false; a restored
processor carries on as if it had never stopped; and neither batching nor arrival order
within the lateness changes the result.

Times are Hà Nội wall-clock text. In March 2024 there is no holiday: Mon 4/3, ..., Fri
8/3, Mon 11/3. An exchange (1.012713, 5 working days) received Mon 4/3 09:00 is due Mon
11/3 09:00, warned Fri 8/3 09:00 and breached at the end of Mon 11/3; a transfer
(1.012711, 8 working days) received then is due Thu 14/3 09:00.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_app.core.output import Record
from stream_app.domain.calendar import TZ
from stream_app.domain.dossier import DossierState
from stream_app.domain.events import DossierEvent
from stream_app.schemas.parse import DeadLetter, parse_event
from stream_app.store.rows import ALERT_COLUMNS, EVENT_COLUMNS, STATE_COLUMNS
from tests.core.conftest import LATENESS, RULES, WALL_START, Clock, Driver, Written

DOSSIER = "000.22.31.H53-240304-0007"
OTHER = "000.22.31.H53-240304-0008"
DESK = "000.22.31.H53"  # Văn phòng Đăng ký đất đai tỉnh Tây Ninh
BRANCH = "001.22.31.H53"  # its branch in Tây Ninh city
TRANSFER = "1.012711"  # 8 working days, tax-interlinked
EXCHANGE = "1.012713"  # 5 working days
UNKNOWN = "9.999999"  # not in the catalog

WARNING_AT = "2024-03-08 09:00"
DUE_AT = "2024-03-11 09:00"
BREACH_AT = "2024-03-11 23:59:59.999"


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


# -- one valid event -------------------------------------------------------------------

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


# -- bad input -------------------------------------------------------------------------

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


# -- events that wait for the lateness window ------------------------------------------

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


# -- timers on event time --------------------------------------------------------------

def test_an_sla_breach_fires_only_when_the_partitions_watermark_passes_the_end_of_the_due_day(driver: Driver):
    (neighbour,) = driver.same_partition(DOSSIER)
    driver.push(received("2024-03-04 09:00"))

    before = driver.push(received("2024-03-12 00:09:59.998", dossier=neighbour))  # watermark 23:59:59.998
    at_end = driver.push(event("transferred", "2024-03-12 00:09:59.999", neighbour, to_unit=BRANCH))

    assert [pick(a, "kind", "fires_at") for a in alerts_of(before)] == [("sla_warning", t(WARNING_AT))]
    assert [pick(a, "kind", "dossier_id", "fires_at", "due_at") for a in alerts_of(at_end)] == [
        ("sla_breach", DOSSIER, t(BREACH_AT), t(DUE_AT))]
    assert driver.state()[DOSSIER]["classification"] == "open_overdue"


def test_advance_and_finish_fire_the_timers_up_to_their_time(driver: Driver):
    driver.push(received("2024-03-04 09:00"))

    early = driver.advance(t("2024-03-08 08:59:59.999"))
    warning = driver.advance(t(WARNING_AT))
    before_end = driver.advance(t("2024-03-11 23:59:59.998"))
    breach = driver.finish(t(BREACH_AT))

    assert early.alerts == [] and before_end.alerts == []
    assert kinds(warning) == ["sla_warning"]
    assert kinds(breach) == ["sla_breach"]
    assert [state_of(r)["classification"] for r in breach.state_rows] == ["open_overdue"]


def test_a_watermark_never_moves_back(driver: Driver):
    driver.push(received("2024-03-04 09:00"))
    driver.advance(t("2024-03-12 00:00"))

    out = driver.push(event("transferred", "2024-03-05 09:00", to_unit=BRANCH))  # late; mark stays put

    assert driver.processor.low_watermark() == t("2024-03-12 00:00")
    assert out.alerts == []


def test_another_partitions_stream_time_does_not_fire_a_dossiers_timer(driver: Driver):
    elsewhere = driver.other_partition(DOSSIER)
    driver.push(received("2024-03-04 09:00"))

    far = driver.push(received("2024-03-20 09:00", dossier=elsewhere))
    own = driver.push(event("transferred", "2024-03-12 00:10", to_unit=BRANCH))

    assert far.alerts == []
    assert kinds(own) == ["sla_warning", "sla_breach"]


def test_alerts_carry_a_vietnamese_message_for_the_task_force(driver: Driver):
    driver.push(received("2024-03-04 09:00"))

    out = driver.finish(t("2024-03-12 00:00"))

    assert [a["message"] for a in alerts_of(out)] == [
        "Cảnh báo: hồ sơ 000.22.31.H53-240304-0007 (Cấp đổi Giấy chứng nhận) đang ở Văn phòng Đăng ký "
        "đất đai tỉnh Tây Ninh chỉ còn không quá 1 ngày làm việc đến hạn trả kết quả lúc 09:00 11/03/2024.",
        "Quá hạn: hồ sơ 000.22.31.H53-240304-0007 (Cấp đổi Giấy chứng nhận) đã quá hạn trả kết quả "
        "(09:00 11/03/2024) và vẫn đang ở Văn phòng Đăng ký đất đai tỉnh Tây Ninh.",
    ]


def test_the_same_input_gives_the_same_alert_ids(make_driver):
    def run(wall: datetime) -> list[tuple[str, str]]:
        d = make_driver(clock=Clock(wall))
        d.push(received("2024-03-04 09:00"), event("transferred", "2024-03-05 09:00", to_unit=BRANCH))
        d.finish(t("2024-03-12 00:00"))
        return [(a["kind"], a["alert_id"]) for a in d.alerts()]

    first, second = run(WALL_START), run(WALL_START + timedelta(days=400))  # ids ignore the wall clock

    assert first == second
    assert [k for k, _ in first] == ["sla_warning", "sla_breach"]
    assert all(len(i) == 24 and int(i, 16) >= 0 for _, i in first)
    assert first[0][1] != first[1][1]


# -- late events and retractions -------------------------------------------------------

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


# -- restore ---------------------------------------------------------------------------

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


def state_after(d: Driver, upto: int) -> dict[str, dict[str, Any]]:
    """The latest state rows written by the first `upto` outputs (what the store held)."""
    latest: dict[str, dict[str, Any]] = {}
    for o in d.outputs[:upto]:
        for r in o.state_rows:
            row = state_of(r)
            latest[row["dossier_id"]] = row
    return latest


# -- determinism -----------------------------------------------------------------------

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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=province(), cuts=st.lists(st.integers(0, 40), max_size=6), extra=st.sampled_from([0, 3, 30]))
def test_any_batching_gives_the_same_final_state_and_alerts(make_driver, events, cuts, extra):
    as_of = as_of_for(events, extra)
    bounds = [0, *sorted({c for c in cuts if c < len(events)}), len(events)]
    batches = [events[i:j] for i, j in zip(bounds, bounds[1:]) if j > i]

    one_by_one = final(make_driver(), [[e] for e in events], as_of)
    batched = final(make_driver(), batches, as_of)

    assert batched == one_by_one
    assert one_by_one[2] == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=province(), size=st.integers(1, 5), extra=st.sampled_from([0, 3, 30]))
def test_dossiers_put_at_rest_and_rebuilt_give_exactly_what_live_ones_give(make_driver, events, size, extra):
    """Keeping one dossier live (every other at rest, rebuilt on its next event or
    timer) changes nothing a user sees: rows, alerts in their order, dead letters."""
    as_of = as_of_for(events, extra)
    batches = [events[i:i + size] for i in range(0, len(events), size)]
    live, resting = make_driver(), make_driver(hot_limit=1)

    assert final(resting, batches, as_of) == final(live, batches, as_of)
    assert [pick(a, "alert_id", "retracted", "version") for a in resting.alerts()] == [
        pick(a, "alert_id", "retracted", "version") for a in live.alerts()]
    assert len(resting.processor.histories) <= 1 + len(resting.processor.waiting)
    assert resting.processor.dossier_ids() == live.processor.dossier_ids()


def test_a_dossier_at_rest_wakes_for_its_timer(make_driver):
    d = make_driver(hot_limit=1)
    d.push(received("2024-03-04 09:00"))
    d.push(received("2024-03-04 10:00", dossier=OTHER))  # puts DOSSIER at rest

    assert DOSSIER in d.processor.resting and DOSSIER not in d.processor.histories
    d.advance(t("2024-03-12 00:00"))
    assert {(a["dossier_id"], a["kind"]) for a in d.alerts()} >= {(DOSSIER, "sla_warning"), (DOSSIER, "sla_breach")}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=province(), seed=st.integers(0, 2**32 - 1), extra=st.sampled_from([0, 3, 30]))
def test_any_arrival_order_within_the_lateness_gives_the_same_final_state(make_driver, events, seed, extra):
    as_of = as_of_for(events, extra)
    rng = random.Random(seed)
    jitter = {e["event_id"]: timedelta(microseconds=rng.randrange(int(LATENESS / timedelta(microseconds=1))))
              for e in events}
    # Arrival by occurred_at + jitter < lateness: each event arrives before the watermark passes it.
    shuffled = sorted(events, key=lambda e: datetime.fromisoformat(e["occurred_at"]) + jitter[e["event_id"]])

    in_order = make_driver()
    expected = final(in_order, [[e] for e in events], as_of)
    reordered = make_driver()
    got = final(reordered, [[e] for e in shuffled], as_of)

    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert got[3] == expected[3] == sorted(e["event_id"] for e in events)
    assert got[2] == [] and reordered.stats["late"] == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=province(), split=st.integers(0, 40), extra=st.sampled_from([0, 3, 30]))
def test_a_processor_restored_at_any_point_carries_on_identically(make_driver, events, split, extra):
    as_of, split = as_of_for(events, extra), min(split, len(events))
    a = make_driver()
    a.push_each(events[:split])
    before = a.alert_ids()
    b = make_driver(watermark=a.processor.low_watermark())
    b.processor.restore(a.stored())

    for d in (a, b):
        d.push_each(events[split:])
        d.finish(as_of)

    assert comparable({**state_after(a, upto=split), **b.state()}) == comparable(a.state())
    assert before | b.alert_ids() == a.alert_ids()
    assert before.isdisjoint(b.alert_ids())
