"""Specification of `parse_event`: every input gives an event or a dead letter."""

from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_app.domain.codes import ERROR_CODES
from stream_app.schemas.events import EVENT_MODELS, EVENT_TYPES, EventBase, event_fields
from stream_app.schemas.parse import (
    MAX_EVENT_BYTES,
    DeadLetter,
    parse_event,
    parse_line,
)

SOURCE = "dossier.events/0/42"

EXAMPLES: dict[str, bytes] = {
    "received": b'{"event_id":"e1","event_type":"received","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-01T08:00:00+07:00","agency_code":"H56.15",'
    b'"procedure_code":"1.004227","channel":"online","source_due_at":"2024-03-15T17:00:00+07:00"}',
    "transferred": b'{"event_id":"e2","event_type":"transferred","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-01T09:00:00+07:00","agency_code":"H56.15","to_unit":"H56.15.02"}',
    "supplement_requested": b'{"event_id":"e3","event_type":"supplement_requested",'
    b'"dossier_id":"H56-0001","occurred_at":"2024-03-02T10:00:00+07:00","agency_code":"H56.15.02"}',
    "supplement_received": b'{"event_id":"e4","event_type":"supplement_received",'
    b'"dossier_id":"H56-0001","occurred_at":"2024-03-04T10:00:00+07:00","agency_code":"H56.15"}',
    "sent_to_tax": b'{"event_id":"e5","event_type":"sent_to_tax","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-05T10:00:00+07:00","agency_code":"H56.15.02","tax_office":"CT.HT"}',
    "tax_notice_issued": b'{"event_id":"e6","event_type":"tax_notice_issued",'
    b'"dossier_id":"H56-0001","occurred_at":"2024-03-06T10:00:00+07:00","agency_code":"CT.HT"}',
    "obligation_paid": b'{"event_id":"e7","event_type":"obligation_paid","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-07T10:00:00+07:00","agency_code":"H56.15","channel":"counter"}',
    "extended": b'{"event_id":"e8","event_type":"extended","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-08T10:00:00+07:00","agency_code":"H56.15.02",'
    b'"new_due_at":"2024-03-20T17:00:00+07:00"}',
    "concluded": b'{"event_id":"e9","event_type":"concluded","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-11T10:00:00+07:00","agency_code":"H56.15.02","outcome":"approved"}',
    "result_attached": b'{"event_id":"e10","event_type":"result_attached","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-11T11:00:00+07:00","agency_code":"H56.15.02",'
    b'"document_ref":"KQ-2024-0001.pdf","signed":true}',
    "result_returned": b'{"event_id":"e11","event_type":"result_returned","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-12T08:30:00+07:00","agency_code":"H56.15"}',
    "withdrawn": b'{"event_id":"e12","event_type":"withdrawn","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-03T08:30:00Z","agency_code":"H56.15","schema_version":1}',
}

OWN_FIELDS: dict[str, dict[str, Any]] = {
    "received": {"procedure_code": "1.004227", "channel": "online",
                 "source_due_at": datetime(2024, 3, 15, 17, tzinfo=timezone(timedelta(hours=7)))},
    "transferred": {"to_unit": "H56.15.02"},
    "supplement_requested": {},
    "supplement_received": {},
    "sent_to_tax": {"tax_office": "CT.HT"},
    "tax_notice_issued": {},
    "obligation_paid": {"channel": "counter"},
    "extended": {"new_due_at": datetime(2024, 3, 20, 17, tzinfo=timezone(timedelta(hours=7)))},
    "concluded": {"outcome": "approved"},
    "result_attached": {"document_ref": "KQ-2024-0001.pdf", "signed": True},
    "result_returned": {},
    "withdrawn": {},
}

# A received event with personal data the source system should not have sent.
WITH_PERSONAL_DATA = (
    b'{"event_id":"e1","event_type":"received","dossier_id":"H56-0001",'
    b'"occurred_at":"2024-03-01T08:00:00+07:00","agency_code":"H56.15","procedure_code":"1.004227",'
    b'"applicant_name":"Nguy\xe1\xbb\x85n V\xc4\x83n A","phone":"0912345678","id_number":"072090001234"}'
)


def example(kind: str, /, **changes: Any) -> bytes:
    """The example of `kind` with some fields changed."""
    return orjson.dumps({**orjson.loads(EXAMPLES[kind]), **changes})


def dead(raw: bytes, key: bytes | None = None) -> DeadLetter:
    result = parse_event(raw, key=key, source=SOURCE)
    assert isinstance(result, DeadLetter), result
    return result


# --- valid events ---------------------------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_parses_from_its_example(event_type: str) -> None:
    event = parse_event(EXAMPLES[event_type], key=b"H56-0001", source=SOURCE)
    assert isinstance(event, EVENT_MODELS[event_type])
    assert event.event_type == event_type
    assert event.dossier_id == "H56-0001"
    assert event_fields(event) == OWN_FIELDS[event_type]


def test_without_a_key_there_is_no_key_check() -> None:
    assert isinstance(parse_event(EXAMPLES["received"], key=None, source=SOURCE), EventBase)


def test_a_key_with_vietnamese_letters_matches_its_utf8_dossier_id() -> None:
    raw = example("received", dossier_id="HỒ-SƠ-1")
    assert isinstance(parse_event(raw, key="HỒ-SƠ-1".encode(), source=SOURCE), EventBase)


def test_personal_data_is_not_on_the_parsed_event() -> None:
    event = parse_event(WITH_PERSONAL_DATA, key=None, source=SOURCE)
    for name in ("applicant_name", "phone", "id_number"):
        assert not hasattr(event, name)


def test_personal_data_is_not_in_model_dump() -> None:
    event = parse_event(WITH_PERSONAL_DATA, key=None, source=SOURCE)
    dumped = event.model_dump_json()
    assert set(event.model_dump()).isdisjoint({"applicant_name", "phone", "id_number"})
    assert "0912345678" not in dumped and "072090001234" not in dumped


def test_parse_line_drops_the_line_ending() -> None:
    event = parse_line(EXAMPLES["concluded"] + b"\r\n", source="replay.jsonl:9")
    assert isinstance(event, EVENT_MODELS["concluded"])


def test_parse_line_keeps_the_line_without_its_ending_in_a_dead_letter() -> None:
    letter = parse_line(b"{oops\n", source="replay.jsonl:9")
    assert letter == DeadLetter("replay.jsonl:9", b"{oops", "invalid_json", letter.error_detail)


# --- dead letters ---------------------------------------------------------------


def test_a_dead_letter_keeps_the_raw_bytes_and_the_source() -> None:
    letter = dead(b"not json")
    assert (letter.raw, letter.source) == (b"not json", SOURCE)


def test_broken_json_is_invalid_json() -> None:
    assert dead(b'{"event_id": "e1",').error_code == "invalid_json"


def test_invalid_utf8_is_invalid_json() -> None:
    assert dead(b'{"event_id": "\xff\xfe"}').error_code == "invalid_json"


def test_deeply_nested_json_is_invalid_json() -> None:
    assert dead(b"[" * 100_000 + b"]" * 100_000).error_code == "invalid_json"


def test_a_json_array_is_a_schema_error() -> None:
    assert dead(b"[1, 2]").error_code == "schema_error"


def test_a_missing_event_type_is_a_schema_error() -> None:
    assert dead(b'{"event_id":"e1","dossier_id":"D"}').error_code == "schema_error"


def test_a_non_string_event_type_is_a_schema_error() -> None:
    assert dead(example("received", event_type=7)).error_code == "schema_error"


def test_an_unknown_event_type_string_is_unknown_event_type() -> None:
    letter = dead(example("received", event_type="archived"))
    assert letter.error_code == "unknown_event_type"
    assert "archived" in letter.error_detail


def test_a_missing_required_field_is_a_schema_error() -> None:
    letter = dead(b'{"event_id":"e1","event_type":"transferred","dossier_id":"D",'
                  b'"occurred_at":"2024-03-01T08:00:00+07:00","agency_code":"A"}')
    assert (letter.error_code, letter.error_detail) == ("schema_error", "to_unit: Field required")


def test_a_nul_in_dossier_id_is_a_schema_error() -> None:
    letter = dead(example("received", dossier_id="H56\x000001"))
    assert (letter.error_code, letter.error_detail) == (
        "schema_error", "dossier_id: must not contain control characters")


def test_a_timestamp_before_2000_is_a_schema_error() -> None:
    assert dead(example("received", occurred_at="0001-01-01T00:00:00Z")).error_code == "schema_error"


def test_input_over_one_mebibyte_is_a_schema_error() -> None:
    raw = example("received", padding="x" * MAX_EVENT_BYTES)
    assert (dead(raw).error_code, dead(raw).error_detail.startswith("too large")) == (
        "schema_error", True)


def test_a_naive_occurred_at_is_naive_timestamp() -> None:
    letter = dead(example("received", occurred_at="2024-03-01T08:00:00"))
    assert (letter.error_code, letter.error_detail) == (
        "naive_timestamp", "occurred_at: timestamp has no UTC offset")


def test_a_naive_new_due_at_is_naive_timestamp() -> None:
    assert dead(example("extended", new_due_at="2024-03-20T17:00:00")).error_code == "naive_timestamp"


def test_a_naive_source_due_at_is_naive_timestamp() -> None:
    raw = example("received", source_due_at="2024-03-15 17:00:00")
    assert dead(raw).error_code == "naive_timestamp"


def test_a_naive_timestamp_with_another_fault_is_a_schema_error() -> None:
    raw = example("received", occurred_at="2024-03-01T08:00:00", procedure_code="")
    assert dead(raw).error_code == "schema_error"


def test_a_key_other_than_dossier_id_is_key_mismatch() -> None:
    assert dead(EXAMPLES["received"], key=b"H56-0002").error_code == "key_mismatch"


def test_a_key_that_is_not_utf8_is_key_mismatch() -> None:
    assert dead(EXAMPLES["received"], key=b"\xff").error_code == "key_mismatch"


def test_a_schema_error_wins_over_a_key_mismatch() -> None:
    raw = example("received", procedure_code=None)
    assert dead(raw, key=b"other").error_code == "schema_error"


def test_the_detail_does_not_echo_personal_data() -> None:
    raw = WITH_PERSONAL_DATA.replace(b'"agency_code":"H56.15",', b"")
    letter = dead(raw)
    assert letter.error_detail == "agency_code: Field required"


def test_the_detail_is_at_most_500_characters() -> None:
    """Even with every field of the widest type wrong."""
    bad_timestamp = "1 March 2024, 8 in the morning"
    raw = example("received", event_id="", dossier_id="", agency_code="", procedure_code="",
                  occurred_at=bad_timestamp, source_due_at=bad_timestamp, channel="fax",
                  schema_version=0)
    assert len(dead(raw).error_detail) <= 500


def test_the_contract_defines_nine_error_codes() -> None:
    assert ERROR_CODES == ("invalid_json", "schema_error", "unknown_event_type",
                           "naive_timestamp", "key_mismatch", "unknown_dossier",
                           "invalid_transition", "processing_error", "unmapped_record")


# --- properties -----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


def _assert_total(raw: bytes, key: bytes | None = None) -> None:
    result = parse_event(raw, key=key, source=SOURCE)
    if isinstance(result, DeadLetter):
        assert result.error_code in ERROR_CODES and result.raw == raw
        assert len(result.error_detail) <= 500
    else:
        assert isinstance(result, EventBase)


@given(st.binary(max_size=2048), st.none() | st.binary(max_size=16))
def test_any_bytes_give_an_event_or_a_dead_letter(raw: bytes, key: bytes | None) -> None:
    _assert_total(raw, key)


@given(json_values)
def test_any_json_value_gives_an_event_or_a_dead_letter(value: Any) -> None:
    _assert_total(orjson.dumps(value))


@given(st.sampled_from(EVENT_TYPES), st.data())
def test_any_json_value_in_any_field_gives_an_event_or_a_dead_letter(
    event_type: str, data: st.DataObject
) -> None:
    fields = orjson.loads(EXAMPLES[event_type])
    name = data.draw(st.sampled_from(sorted(fields)))
    _assert_total(orjson.dumps({**fields, name: data.draw(json_values)}))


codes = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=64
)
offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31, 23, 59, 59),
    timezones=offsets,
).map(datetime.isoformat)

OWN_STRATEGIES: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "received": {"procedure_code": codes, "channel": st.sampled_from(["direct", "online", "postal"]),
                 "source_due_at": timestamps},
    "transferred": {"to_unit": codes},
    "sent_to_tax": {"tax_office": codes},
    "obligation_paid": {"channel": st.sampled_from(["online", "counter"])},
    "extended": {"new_due_at": timestamps},
    "concluded": {"outcome": st.sampled_from(["approved", "rejected"])},
    "result_attached": {"document_ref": codes, "signed": st.booleans()},
}
REQUIRED_OWN = {"received": {"procedure_code"}, "transferred": {"to_unit"},
                "extended": {"new_due_at"}, "concluded": {"outcome"}}


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from(EVENT_TYPES))
    own = OWN_STRATEGIES.get(event_type, {})
    required = REQUIRED_OWN.get(event_type, set())
    return draw(st.fixed_dictionaries(
        {"event_id": codes, "event_type": st.just(event_type), "dossier_id": codes,
         "occurred_at": timestamps, "agency_code": codes,
         **{name: strategy for name, strategy in own.items() if name in required}},
        optional={"schema_version": st.integers(1, 65535),
                  "applicant_name": st.text(string.ascii_letters),
                  **{name: strategy for name, strategy in own.items() if name not in required}},
    ))


@settings(max_examples=300)
@given(valid_events())
def test_a_valid_event_round_trips_through_model_dump_json(fields: dict[str, Any]) -> None:
    event = parse_event(orjson.dumps(fields), key=fields["dossier_id"].encode(), source=SOURCE)
    assert isinstance(event, EventBase), event
    again = parse_event(event.model_dump_json().encode(), key=None, source=SOURCE)
    assert again == event
