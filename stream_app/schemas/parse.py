"""Raw bytes in, a valid `Event` or a `DeadLetter` out: the gate every input passes.

`parse_event` is pure and total: for any bytes it returns, never raises, so bad input
can neither stop the pipeline nor vanish (docs/contract.md §1). The dead letter keeps the raw
bytes, where they came from (given by the caller) and one of the contract's error
codes. Its detail names fields and rules but never echoes a value of a field outside
the contract, which is where personal data would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson
from pydantic import TypeAdapter, ValidationError

from stream_app.domain.codes import (
    INVALID_JSON,
    KEY_MISMATCH,
    NAIVE_TIMESTAMP,
    SCHEMA_ERROR,
    UNKNOWN_EVENT_TYPE,
    ErrorCode,
)
from stream_app.schemas.events import EVENT_TYPES, Event

MAX_EVENT_BYTES: Final = 1 << 20  # an event is ~200 bytes; a megabyte is garbage
MAX_DETAIL_CHARS: Final = 500


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input that is not a usable event, with the reason.

    `source` is "topic/partition/offset" or "file:line", as the caller names it.
    `error_code` is `naive_timestamp` only when a missing offset is the sole problem;
    any other schema failure alongside it makes the event a `schema_error`.
    """

    source: str
    raw: bytes
    error_code: ErrorCode
    error_detail: str


_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
_KNOWN_TYPES = frozenset(EVENT_TYPES)
_JSON_KINDS = {dict: "object", list: "array", str: "string", int: "number",
               float: "number", bool: "boolean", type(None): "null"}
# Pydantic's own message would print the regex, which helps nobody reading the DLQ.
_MESSAGES = {"string_pattern_mismatch": "must not contain control characters"}


def parse_event(raw: bytes, *, key: bytes | None, source: str) -> Event | DeadLetter:
    """Validate one Kafka value; `key` (the dossier code) must equal `dossier_id`.

    `key=None` skips the key check (replay files have no key).
    """
    try:
        outcome = _validate(raw)
        if isinstance(outcome, tuple):
            code, detail = outcome
        elif key is not None and key != outcome.dossier_id.encode("utf-8"):
            code = KEY_MISMATCH
            detail = f"key {key[:80]!r} does not equal dossier_id {outcome.dossier_id!r}"
        else:
            return outcome
    except Exception as exc:  # noqa: BLE001 - totality is the contract; still dead-lettered
        code, detail = SCHEMA_ERROR, f"unexpected {type(exc).__name__} while parsing"
    return DeadLetter(source=source, raw=bytes(raw), error_code=code,
                      error_detail=detail[:MAX_DETAIL_CHARS])


def parse_line(line: bytes, *, source: str) -> Event | DeadLetter:
    """Validate one JSON Lines line of a replay file; the line ending is not kept."""
    return parse_event(line.rstrip(b"\r\n"), key=None, source=source)


def _validate(raw: bytes) -> Any:
    """The event, or (error code, detail)."""
    if len(raw) > MAX_EVENT_BYTES:
        return SCHEMA_ERROR, f"too large: {len(raw)} bytes, limit {MAX_EVENT_BYTES}"
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # exc.msg describes the fault without quoting the input.
        return INVALID_JSON, f"{exc.msg} at char {exc.pos}"
    if type(obj) is not dict:
        return SCHEMA_ERROR, f"expected a JSON object, got {_kind(obj)}"
    event_type = obj.get("event_type")
    if type(event_type) is not str:
        if "event_type" not in obj:
            return SCHEMA_ERROR, "event_type: missing"
        return SCHEMA_ERROR, f"event_type: expected a string, got {_kind(event_type)}"
    if event_type not in _KNOWN_TYPES:
        return UNKNOWN_EVENT_TYPE, f"event_type: unknown {event_type[:64]!r}"
    try:
        return _ADAPTER.validate_python(obj)
    except ValidationError as exc:
        return _schema_failure(exc)


def _schema_failure(exc: ValidationError) -> tuple[ErrorCode, str]:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    naive_only = all(error["type"] == NAIVE_TIMESTAMP for error in errors)
    # loc[0] is the union tag (the event type), already known to be valid.
    parts = [
        f"{'.'.join(map(str, error['loc'][1:]))}: {_MESSAGES.get(error['type'], error['msg'])}"
        for error in errors
    ]
    return (NAIVE_TIMESTAMP if naive_only else SCHEMA_ERROR), "; ".join(parts)


def _kind(value: object) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)
