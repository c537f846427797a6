"""`POST /sync` on the worker's web server: a provincial system's sync job points here.

It answers the way the portal does — `{"error_code": 0, "message": …}` when the envelope
is taken, a non-zero `error_code` with the reason otherwise — so a sync job that checks
the portal's answer needs no change. The sender proves itself with the deployment's
shared secret (`DOSSIER_SYNC_SECRET`), in the `X-Sync-Secret` header or as the
envelope's `session` (where the job already puts the portal's token), compared in
constant time. It takes no cookie and no form, so it needs neither the live page's
sign-in nor its CSRF token. A taken envelope is split one record or entry per Kafka
record, keyed by its dossier, every field the product does not read dropped (the
applicant's data never reaches the topic), and published on `dossier.sync`; the answer
waits for the broker's acknowledgement, so error_code 0 means the envelope is on the
topic, to be converted by the worker. Records that are not valid are not refused here:
they become dead letters with their reason when converted.
"""

from __future__ import annotations

import hmac
from typing import Any, Awaitable, Callable

import faust
import orjson
import structlog
from faust.web import Request, Response, View

from stream_app.sync.gate import MAX_ENVELOPE_BYTES
from stream_app.sync.mapping import Mapping
from stream_app.sync.records import DOSSIER_RECORD, SERVICES, DossierRecord, ProgressEntry, known_fields

log = structlog.get_logger(__name__)

PATH = "/sync"
SECRET_HEADER = "X-Sync-Secret"
# The portal's kind of answer: 0 taken; the others say why not (HTTP status beside).
OK, UNAUTHORISED, NOT_AN_ENVELOPE, TOO_LARGE, UNAVAILABLE = 0, -1, 1, 2, 3
MESSAGES = {
    OK: "Thành công",
    UNAUTHORISED: "Sai hoặc thiếu khóa xác thực (X-Sync-Secret hoặc session)",
    NOT_AN_ENVELOPE: "Dữ liệu không phải gói đồng bộ {madonvi, service, data}",
    TOO_LARGE: "Gói đồng bộ quá lớn",
    UNAVAILABLE: "Chưa ghi được gói đồng bộ, vui lòng gửi lại sau",
}
HTTP = {OK: 200, UNAUTHORISED: 401, NOT_AN_ENVELOPE: 400, TOO_LARGE: 413, UNAVAILABLE: 503}

# Sends (key, value) records to dossier.sync and returns once the broker has them all.
Publish = Callable[[list[tuple[bytes, bytes]]], Awaitable[None]]


def split(envelope: dict[str, Any], mapping: Mapping) -> list[tuple[bytes, bytes]] | None:
    """One cleaned envelope per record or entry, keyed by its dossier; None if not an envelope."""
    service, data = envelope.get("service"), envelope.get("data")
    if service not in SERVICES or not isinstance(data, list):
        return None
    model = DossierRecord if service == DOSSIER_RECORD else ProgressEntry
    out = []
    for item in data:
        known = known_fields(model, item) or {}
        if model is DossierRecord and isinstance(item, dict) and isinstance(item.get(mapping.outcome_field), str):
            known[mapping.outcome_field] = item[mapping.outcome_field]
        key = known.get("MaHoSo")
        value = {"madonvi": envelope.get("madonvi"), "service": service, "isUpdating": envelope.get("isUpdating"),
                 "data": [known]}
        out.append((str(key).encode() if key is not None else b"", orjson.dumps(value)))
    return out


def answer(view: View, code: int, **extra: Any) -> Response:
    return view.text(orjson.dumps({"error_code": code, "message": MESSAGES[code], **extra}).decode(),
                     content_type="application/json", status=HTTP[code])


def register_endpoint(app: faust.App, secret: bytes, mapping: Mapping, publish: Publish) -> None:
    """Add `POST /sync` to the worker's web server."""

    def authorised(request: Request, envelope: dict[str, Any] | None) -> bool:
        given = request.headers.get(SECRET_HEADER)
        if given is None and envelope is not None and isinstance(envelope.get("session"), str):
            given = envelope["session"]
        return given is not None and hmac.compare_digest(given.encode(), secret)

    @app.page(PATH)
    class SyncView(View):
        async def post(self, request: Request) -> Response:
            if (request.content_length or 0) > MAX_ENVELOPE_BYTES:
                return answer(self, TOO_LARGE)
            try:
                body = await request.read()
                envelope = orjson.loads(body)
            except orjson.JSONDecodeError:
                envelope = None
            except Exception:  # the body itself could not be read (too large for the server)
                return answer(self, TOO_LARGE)
            if not authorised(request, envelope if isinstance(envelope, dict) else None):
                log.warning("sync.unauthorised", peer=request.remote)
                return answer(self, UNAUTHORISED)
            records = split(envelope, mapping) if isinstance(envelope, dict) else None
            if records is None:
                return answer(self, NOT_AN_ENVELOPE)
            try:
                await publish(records)
            except Exception as exc:  # the broker did not take it: the sender keeps it and retries
                log.error("sync.publish_failed", error=type(exc).__name__)
                return answer(self, UNAVAILABLE)
            log.info("sync.accepted", service=envelope.get("service"), records=len(records))
            return answer(self, OK, records=len(records))
