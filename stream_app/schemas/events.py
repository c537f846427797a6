"""The dossier lifecycle events of docs/contract.md §1 as frozen pydantic models.

This module owns the shape of one valid event: the common fields, each type's own
fields, the discriminated union `Event` on `event_type`, and the rules that make a
value acceptable (RFC 3339 timestamps with an offset, ids and codes without control
characters, bounded lengths). Fields outside the contract are dropped on validation
(`extra="ignore"`), so no personal data survives parsing. Turning raw bytes into an
event or a dead letter is `schemas.parse`'s job.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

MIN_YEAR, MAX_YEAR = 2000, 2100

# C0, DEL and C1 controls (Unicode category Cc). NUL and friends break ClickHouse
# keys, log lines and CSV exports, and never belong in a dossier code.
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]+$"


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(strict=True, min_length=1, max_length=max_length, pattern=_NO_CONTROL)


EventId = Annotated[str, _text(128)]
DossierId = Annotated[str, _text(64)]
Code = Annotated[str, _text(128)]
# A document reference may be a path or URL in the provincial archive, so it is longer.
DocumentRef = Annotated[str, _text(512)]

# RFC 3339 date-time; the offset group is optional here only so that a missing offset
# can be reported as `naive_timestamp` instead of a generic format error.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})?",
    re.ASCII,  # \d must not accept other scripts' digits
)
_RFC3339_SCHEMA_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_EXAMPLE = "2024-03-01T08:00:00+07:00"


def _parse_timestamp(value: Any) -> datetime:
    """Parse an RFC 3339 string with a UTC offset; error types name the failure."""
    if isinstance(value, datetime):
        # Already a datetime (events built in code, not from JSON): only check it.
        parsed = value
    else:
        # The length cap keeps the regex cheap; 40 fits nanoseconds and an offset.
        ok = isinstance(value, str) and len(value) <= 40
        match = _RFC3339.fullmatch(value) if ok else None
        if match is None:
            raise PydanticCustomError(
                "timestamp_format", "expected an RFC 3339 timestamp such as {example}",
                {"example": _EXAMPLE},
            )
        if match.group(1) is None:
            raise PydanticCustomError("naive_timestamp", "timestamp has no UTC offset")
        try:
            # upper(): RFC 3339 allows "t"/"z", fromisoformat does not. Digits beyond
            # microseconds are truncated by fromisoformat, not rounded.
            parsed = datetime.fromisoformat(value.upper())
        except ValueError:
            raise PydanticCustomError(
                "timestamp_value", "not a real date, time or offset"
            ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError("naive_timestamp", "timestamp has no UTC offset")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        # Years like 0001 or 9999 are placeholder garbage from the source systems.
        raise PydanticCustomError(
            "timestamp_range", "year outside {lo}..{hi}", {"lo": MIN_YEAR, "hi": MAX_YEAR}
        )
    return parsed


Timestamp = Annotated[
    datetime,
    BeforeValidator(_parse_timestamp),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": _RFC3339_SCHEMA_PATTERN,
            "description": f"RFC 3339 with a UTC offset, year {MIN_YEAR}..{MAX_YEAR}, e.g. {_EXAMPLE}",
        }
    ),
]


class EventBase(BaseModel):
    """Fields every dossier event carries."""

    # strict: JSON types must match (no "1" for 1, no 0/1 for booleans);
    # hide_input_in_errors: a ValidationError printed anywhere never leaks a value.
    model_config = ConfigDict(
        frozen=True, extra="ignore", strict=True, hide_input_in_errors=True
    )

    event_id: EventId = Field(description="Unique per event; a repeat is a duplicate.")
    dossier_id: DossierId = Field(description="Dossier code; equals the Kafka key.")
    occurred_at: Timestamp = Field(
        description=f"When it happened at the source; RFC 3339 with a UTC offset, e.g. {_EXAMPLE}."
    )
    agency_code: Code = Field(description="The unit where it happened.")
    schema_version: Annotated[int, Field(ge=1, le=65535)] = 1


class Received(EventBase):
    """Opens the dossier and starts the clock; `agency_code` is the receiving unit."""

    event_type: Literal["received"]
    procedure_code: Code
    channel: Literal["direct", "online", "postal"] | None = None
    source_due_at: Timestamp | None = None


class Transferred(EventBase):
    """The dossier now sits at `to_unit`."""

    event_type: Literal["transferred"]
    to_unit: Code


class SupplementRequested(EventBase):
    """The clock stops until the citizen supplements the dossier."""

    event_type: Literal["supplement_requested"]


class SupplementReceived(EventBase):
    """The clock restarts."""

    event_type: Literal["supplement_received"]


class SentToTax(EventBase):
    """The land clock pauses and the tax clock starts."""

    event_type: Literal["sent_to_tax"]
    tax_office: Code | None = None


class TaxNoticeIssued(EventBase):
    """The tax clock stops."""

    event_type: Literal["tax_notice_issued"]


class ObligationPaid(EventBase):
    """The land clock resumes."""

    event_type: Literal["obligation_paid"]
    channel: Literal["online", "counter"] | None = None


class Extended(EventBase):
    """An apology letter with a new due date."""

    event_type: Literal["extended"]
    new_due_at: Timestamp


class Concluded(EventBase):
    """The dossier is finished with an outcome."""

    event_type: Literal["concluded"]
    outcome: Literal["approved", "rejected"]


class ResultAttached(EventBase):
    """An electronic result is attached."""

    event_type: Literal["result_attached"]
    document_ref: DocumentRef | None = None
    signed: bool | None = None


class ResultReturned(EventBase):
    """The result is handed to the citizen."""

    event_type: Literal["result_returned"]


class Withdrawn(EventBase):
    """The citizen withdrew; finished, counts on time."""

    event_type: Literal["withdrawn"]


Event = Annotated[
    Union[
        Received,
        Transferred,
        SupplementRequested,
        SupplementReceived,
        SentToTax,
        TaxNoticeIssued,
        ObligationPaid,
        Extended,
        Concluded,
        ResultAttached,
        ResultReturned,
        Withdrawn,
    ],
    Field(discriminator="event_type"),
]

# Derived from the union so the names, the models and the order (the contract's)
# cannot drift apart.
EVENT_MODELS: dict[str, type[EventBase]] = {
    get_args(model.model_fields["event_type"].annotation)[0]: model
    for model in get_args(get_args(Event)[0])
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_MODELS)

_COMMON_FIELDS = frozenset(EventBase.model_fields) | {"event_type"}
_OWN_FIELDS: dict[type[EventBase], tuple[str, ...]] = {
    model: tuple(name for name in model.model_fields if name not in _COMMON_FIELDS)
    for model in EVENT_MODELS.values()
}


def event_fields(event: EventBase) -> dict[str, Any]:
    """The type's own fields (beyond the common ones), absent ones as None."""
    return {name: getattr(event, name) for name in _OWN_FIELDS[type(event)]}
