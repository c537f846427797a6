"""One envelope's bytes in: its dossier records and progress entries, or dead letters.

`open_envelope` is total: for any bytes it returns, never raises. An envelope that is
not JSON, or not an envelope, is one dead letter; a record or entry that is not valid is
its own dead letter and the others go on. A dead letter of the sync feed never keeps the
sender's bytes, which carry the applicant's name and identity number: it keeps the
record's known fields (`records.known_fields`) in an envelope of its own, or — for a line
that is not JSON at all — nothing but where it is and its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from stream_app.domain.codes import INVALID_JSON, SCHEMA_ERROR
from stream_app.schemas.parse import MAX_DETAIL_CHARS, DeadLetter
from stream_app.sync.mapping import Mapping
from stream_app.sync.records import DOSSIER_RECORD, DossierRecord, Envelope, ProgressEntry, known_fields

MAX_ENVELOPE_BYTES = 16 << 20  # a push carries a few records or ten progress entries


@dataclass
class Opened:
    """What one envelope holds, each item with the known fields a dead letter would keep."""

    source: str
    sender: str | None = None
    service: str | None = None
    records: list[tuple[DossierRecord, dict[str, Any]]] = field(default_factory=list)
    progress: list[ProgressEntry] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    def dead_letter(self, known: dict[str, Any] | None, code: str, detail: str) -> DeadLetter:
        raw = orjson.dumps({"madonvi": self.sender, "service": self.service,
                            "data": [] if known is None else [known]})
        dl = DeadLetter(self.source, raw, code, detail[:MAX_DETAIL_CHARS])  # type: ignore[arg-type]
        self.dead.append(dl)
        return dl


def _errors(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in errors)


def _validate(model: type[BaseModel], obj: Any, utc: bool) -> tuple[Any, str | None]:
    try:
        return model.model_validate(obj, context={"utc": utc}), None
    except ValidationError as exc:
        return None, _errors(exc)


def open_envelope(raw: bytes, source: str, mapping: Mapping) -> Opened:
    opened = Opened(source)
    try:
        _open(raw, opened, mapping)
    except Exception as exc:  # noqa: BLE001 - totality is the contract; still dead-lettered
        opened.dead_letter(None, SCHEMA_ERROR, f"unexpected {type(exc).__name__} while reading the envelope")
    return opened


def _open(raw: bytes, opened: Opened, mapping: Mapping) -> None:
    if len(raw) > MAX_ENVELOPE_BYTES:
        opened.dead_letter(None, SCHEMA_ERROR, f"envelope too large: {len(raw)} bytes, limit {MAX_ENVELOPE_BYTES}")
        return
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        opened.dead_letter(None, INVALID_JSON, f"{exc.msg} at char {exc.pos}; the {len(raw)} bytes are not kept "
                                               "(a sync record carries personal fields)")
        return
    if not isinstance(obj, dict):
        opened.dead_letter(None, SCHEMA_ERROR, "expected a JSON object: an envelope {madonvi, service, data}")
        return
    envelope, error = _validate(Envelope, obj, False)
    if envelope is None:
        opened.sender = obj.get("madonvi") if isinstance(obj.get("madonvi"), str) else None
        opened.dead_letter(None, SCHEMA_ERROR, f"not a sync envelope: {error}")
        return
    opened.sender, opened.service = envelope.madonvi, envelope.service
    utc = mapping.sends_utc(envelope.madonvi)
    model = DossierRecord if envelope.service == DOSSIER_RECORD else ProgressEntry
    for n, item in enumerate(envelope.data):
        known = known_fields(model, item)
        if not isinstance(item, dict):
            opened.dead_letter(None, SCHEMA_ERROR, f"data[{n}]: expected an object")
            continue
        if model is DossierRecord and mapping.outcome_field in item:
            item = {**item, "outcome_hint": item[mapping.outcome_field]}
        value, error = _validate(model, item, utc)
        if value is None:
            opened.dead_letter(known, SCHEMA_ERROR, f"data[{n}]: {error}")
        elif model is DossierRecord:
            opened.records.append((value, known))
        else:
            opened.progress.append(value)
