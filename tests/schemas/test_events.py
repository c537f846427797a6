"""Specification of the event models: fields, types and the rules on values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from stream_app.schemas import export
from stream_app.schemas.events import (
    EVENT_TYPES,
    Concluded,
    Extended,
    Received,
    ResultAttached,
    Transferred,
    Withdrawn,
    event_fields,
)

ICT = timezone(timedelta(hours=7))
COMMON = {
    "event_id": "e-1",
    "dossier_id": "000.00.15.H56-240301-0001",
    "occurred_at": "2024-03-01T08:00:00+07:00",
    "agency_code": "H56.15",
}


def received(**changes: object) -> dict[str, object]:
    return {**COMMON, "event_type": "received", "procedure_code": "1.004227", **changes}


def test_event_types_are_the_contracts_twelve_in_its_order() -> None:
    assert EVENT_TYPES == (
        "received", "transferred", "supplement_requested", "supplement_received",
        "sent_to_tax", "tax_notice_issued", "obligation_paid", "extended", "concluded",
        "result_attached", "result_returned", "withdrawn",
    )


def test_schema_version_defaults_to_1() -> None:
    assert Received.model_validate(received()).schema_version == 1


def test_models_are_frozen() -> None:
    event = Received.model_validate(received())
    with pytest.raises(ValidationError):
        event.dossier_id = "other"  # type: ignore[misc]


def test_fields_outside_the_contract_are_not_kept() -> None:
    event = Received.model_validate(received(applicant_name="Nguyễn Văn A", phone="0900000000"))
    assert not hasattr(event, "applicant_name")
    assert event.model_extra is None
    assert "phone" not in event.model_dump()


def test_event_fields_gives_the_types_own_fields_with_none_for_absent() -> None:
    event = Received.model_validate(received(channel="online"))
    assert event_fields(event) == {
        "procedure_code": "1.004227", "channel": "online", "source_due_at": None,
    }


def test_event_fields_of_a_type_without_own_fields_is_empty() -> None:
    assert event_fields(Withdrawn.model_validate({**COMMON, "event_type": "withdrawn"})) == {}


def test_occurred_at_keeps_its_offset() -> None:
    event = Received.model_validate(received())
    assert event.occurred_at == datetime(2024, 3, 1, 8, 0, tzinfo=ICT)
    assert event.occurred_at.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T01:00:00Z", datetime(2024, 3, 1, 1, tzinfo=timezone.utc)),
        ("2024-03-01t01:00:00z", datetime(2024, 3, 1, 1, tzinfo=timezone.utc)),
        ("2024-03-01 08:00:00+07:00", datetime(2024, 3, 1, 8, tzinfo=ICT)),
        ("2024-03-01T08:00:00.5+07:00", datetime(2024, 3, 1, 8, 0, 0, 500000, tzinfo=ICT)),
        ("2024-03-01T08:00:00.123456789+07:00", datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=ICT)),
    ],
)
def test_rfc3339_variants_are_accepted(text: str, expected: datetime) -> None:
    assert Received.model_validate(received(occurred_at=text)).occurred_at == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-01",  # a date is not a date-time
        "2024-03-01T08:00+07:00",  # seconds are required
        "20240301T080000+0700",  # ISO basic format is not RFC 3339
        "2024-13-01T08:00:00+07:00",  # no month 13
        "2024-03-01T08:00:00+25:00",  # no such offset
        "1970-01-01T00:00:00Z",  # before 2000: placeholder garbage
        "2101-01-01T00:00:00+07:00",  # after 2100
        "２０２４-03-01T08:00:00+07:00",  # full-width digits
    ],
)
def test_malformed_or_out_of_range_timestamps_are_rejected(text: str) -> None:
    with pytest.raises(ValidationError):
        Received.model_validate(received(occurred_at=text))


def test_a_number_is_not_a_timestamp() -> None:
    with pytest.raises(ValidationError):
        Received.model_validate(received(occurred_at=1709254800))


def test_a_naive_datetime_is_rejected_when_built_in_code() -> None:
    with pytest.raises(ValidationError, match="naive_timestamp"):
        Received.model_validate(received(occurred_at=datetime(2024, 3, 1, 8)))


def test_an_aware_datetime_is_accepted_when_built_in_code() -> None:
    moment = datetime(2024, 3, 1, 8, tzinfo=ICT)
    assert Received.model_validate(received(occurred_at=moment)).occurred_at == moment


def test_json_types_are_strict() -> None:
    with pytest.raises(ValidationError):
        Received.model_validate(received(schema_version="1"))


def test_signed_must_be_a_boolean_not_a_number() -> None:
    with pytest.raises(ValidationError):
        ResultAttached.model_validate({**COMMON, "event_type": "result_attached", "signed": 1})


@pytest.mark.parametrize("value", ["D\x00", "D\n1", "D\x7f", "D\x85"])
def test_control_characters_in_ids_are_rejected(value: str) -> None:
    with pytest.raises(ValidationError):
        Received.model_validate(received(dossier_id=value))


def test_vietnamese_text_in_codes_is_accepted() -> None:
    assert Transferred.model_validate(
        {**COMMON, "event_type": "transferred", "to_unit": "Chi nhánh VPĐKĐĐ Hòa Thành"}
    ).to_unit == "Chi nhánh VPĐKĐĐ Hòa Thành"


def test_strings_are_not_stripped() -> None:
    assert Received.model_validate(received(agency_code=" H56 ")).agency_code == " H56 "


def test_dossier_id_is_at_most_64_characters() -> None:
    assert Received.model_validate(received(dossier_id="Đ" * 64)).dossier_id == "Đ" * 64
    with pytest.raises(ValidationError):
        Received.model_validate(received(dossier_id="D" * 65))


def test_event_id_is_at_most_128_characters() -> None:
    with pytest.raises(ValidationError):
        Received.model_validate(received(event_id="e" * 129))


def test_empty_strings_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Received.model_validate(received(agency_code=""))


def test_channel_of_received_is_one_of_direct_online_postal() -> None:
    with pytest.raises(ValidationError):
        Received.model_validate(received(channel="counter"))


def test_outcome_of_concluded_is_required() -> None:
    with pytest.raises(ValidationError):
        Concluded.model_validate({**COMMON, "event_type": "concluded"})


def test_new_due_at_of_extended_must_be_aware() -> None:
    with pytest.raises(ValidationError, match="naive_timestamp"):
        Extended.model_validate(
            {**COMMON, "event_type": "extended", "new_due_at": "2024-03-20T17:00:00"}
        )


def test_committed_json_schema_equals_a_fresh_export() -> None:
    """Run `python -m schemas.export` after changing a model."""
    assert export.SCHEMA_PATH.read_text(encoding="utf-8") == export.render()


def test_export_writes_the_schema_to_out(tmp_path) -> None:
    out = tmp_path / "event.schema.json"
    export.main(["--out", str(out)])
    assert out.read_text(encoding="utf-8") == export.render()


def test_json_schema_discriminates_on_event_type() -> None:
    schema = export.event_json_schema()
    assert schema["discriminator"]["propertyName"] == "event_type"
    assert sorted(schema["discriminator"]["mapping"]) == sorted(EVENT_TYPES)
