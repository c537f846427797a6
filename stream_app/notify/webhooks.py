"""Alert delivery to the task force's webhooks (`DOSSIER_ALERT_WEBHOOKS`), signed by the
Standard Webhooks convention (https://www.standardwebhooks.com).

Each alert message is POSTed as JSON to every configured URL (and only those:
redirects are not followed) with the convention's headers: `webhook-id` (the
message's key: the alert id, `<alert id>:retracted`, `<alert id>:v<n>`, or a
digest's id — the same when a send repeats), `webhook-timestamp` (Unix seconds
of this attempt, so a receiver refuses a captured request replayed later) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, signed with
the `standardwebhooks` library. `Idempotency-Key` still carries the id. The
secret is `whsec_<base64 key>`; any other value is a secret of the earlier
releases: its UTF-8 bytes are the key and the old `X-Dossier-Signature:
sha256=<hex HMAC of the body>` is sent as well, until the operator switches to
the `whsec_` form of the same key (docs/alerts.md).

A live worker catching up after downtime sends what came due meanwhile as one
digest per receiving unit (`{"type": "alert.digest", "unit": …, "alerts": […]}`)
instead of a POST per alert. Deliveries go through the store's outbox
(`store.outbox`), so a crash between writing an alert and posting it loses
nothing; this module only knows how to sign and POST. At most `concurrency`
POSTs are in flight, each attempt bounded by `timeout_s`; failures are retried
with exponential backoff a bounded number of times; what still fails is marked
`failed` and logged with the id, never the URL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any, Sequence

import aiohttp
import orjson
import structlog
from standardwebhooks.webhooks import Webhook

from stream_app.clock import Clock, utc_now
from stream_app.core.output import message_key
from stream_app.core.ports import Batch, Delivery, Outcome, batches

log = structlog.get_logger(__name__)

SECRET_PREFIX = "whsec_"


def signature(secret: bytes, body: bytes) -> str:
    """The earlier releases' `X-Dossier-Signature` (the body alone, no timestamp)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signing_key(secret: str) -> tuple[bytes, bool]:
    """(the HMAC key, whether it is an earlier release's raw secret) from `DOSSIER_WEBHOOK_SECRET`."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode(), True
    text = secret[len(SECRET_PREFIX):]
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("DOSSIER_WEBHOOK_SECRET starts with whsec_ but what follows is not base64") from None
    if not key:
        raise ValueError("DOSSIER_WEBHOOK_SECRET is whsec_ with an empty key")
    return key, False


def endpoint_id(url: str) -> str:
    """How the outbox names a URL without storing it."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def digest_id(channel: str, endpoint: str, unit: str, keys: Sequence[str]) -> str:
    """A digest's id, a function of what it carries (so a repeat has the same id)."""
    raw = "\x1f".join([channel, endpoint, unit, *sorted(keys)]).encode()
    return f"digest-{hashlib.blake2b(raw, digest_size=12).hexdigest()}"


def message_unit(message: dict[str, Any]) -> str:
    """The unit an alert is grouped under in a digest: the unit that received the dossier."""
    return str(message.get("receiving_unit") or message.get("unit") or "")


def fires_at(message: dict[str, Any]) -> datetime | None:
    text = message.get("fires_at")
    return datetime.fromisoformat(text) if text else None


def digest_messages(batch: Batch) -> list[dict[str, Any]]:
    """The alert messages of a digest, in the order they came due (then by key)."""
    pairs = sorted(((orjson.loads(d.body), d.delivery_id) for d in batch.deliveries),
                   key=lambda p: (p[0].get("fires_at") or "", p[1]))
    return [m for m, _ in pairs]


class WebhookNotifier:
    """The webhook `Channel`: POSTs batches to the configured URLs; knows nothing of the store."""

    name = "webhook"

    def __init__(self, urls: Sequence[str], secret: str | bytes | None = None, attempts: int = 5,
                 timeout_s: float = 5.0, concurrency: int = 16, now: Clock = utc_now) -> None:
        self.urls = tuple(urls)
        self.by_endpoint = {endpoint_id(u): u for u in self.urls}
        if isinstance(secret, bytes):  # a key given as it is (tests, callers with raw bytes)
            key, self.legacy = secret, False
        elif secret:
            key, self.legacy = signing_key(secret)
        else:
            key, self.legacy = b"", False
        self.key = key
        self._signer = Webhook(key) if key else None
        self.attempts = attempts
        self.timeout_s = timeout_s
        # At most this many POSTs in flight: the end of a replay fires thousands of
        # alerts at once, and a receiver is often a small service.
        self.concurrency = concurrency
        # The real wall clock, never a drill's: a receiver compares the timestamp with its own.
        self.now = now
        self.delivered = 0
        self.failed = 0

    def deliveries(self, messages: Sequence[dict[str, Any]], *, catch_up: bool = False) -> list[Delivery]:
        """Every message for every configured URL (waiting for a digest when caught up late)."""
        out = []
        for m in messages:
            body, did = orjson.dumps(m), message_key(m)
            out += [Delivery(did, ep, str(m["alert_id"]), body, self.name, message_unit(m), fires_at(m),
                             "" if catch_up else did)
                    for ep in self.by_endpoint]
        return out

    def digests(self, waiting: Sequence[tuple[Delivery, datetime]], now: datetime) -> list[Batch]:
        """What waits (a live worker's catch-up) as one digest per URL and unit, at once."""
        groups: dict[tuple[str, str], list[Delivery]] = {}
        for d, _ in waiting:
            if d.endpoint in self.by_endpoint:
                groups.setdefault((d.endpoint, d.unit), []).append(d)
        return [Batch(digest_id(self.name, ep, unit, [d.delivery_id for d in ds]), self.name, ep, tuple(ds))
                for (ep, unit), ds in groups.items()]

    async def deliver(self, messages: Sequence[dict[str, Any]]) -> list[Outcome]:
        return await self.post(self.deliveries(messages))

    async def post(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        return await self.send(batches(deliveries))

    async def send(self, sends: Sequence[Batch]) -> list[Outcome]:
        """POST each batch whose endpoint is configured; the others are not touched."""
        todo = [b for b in sends if b.endpoint in self.by_endpoint]
        if not todo:
            return []
        slots = asyncio.Semaphore(self.concurrency)
        async with aiohttp.ClientSession() as session:
            results = await asyncio.gather(*(self._post(session, slots, b) for b in todo))
        return [o for outcomes in results for o in outcomes]

    def body(self, batch: Batch) -> bytes:
        if not batch.digest:
            return batch.deliveries[0].body
        messages = digest_messages(batch)
        return orjson.dumps({"type": "alert.digest", "unit": batch.deliveries[0].unit or None,
                             "count": len(messages), "alerts": messages})

    def headers(self, batch_id: str, body: bytes) -> dict[str, str]:
        """The request's headers for this attempt (a fresh timestamp, so a fresh signature)."""
        headers = {"Content-Type": "application/json", "Idempotency-Key": batch_id, "webhook-id": batch_id}
        if self._signer is not None:
            at = self.now().astimezone(timezone.utc).replace(microsecond=0)
            headers["webhook-timestamp"] = str(int(at.timestamp()))
            headers["webhook-signature"] = self._signer.sign(batch_id, at, body.decode())
            if self.legacy:
                headers["X-Dossier-Signature"] = signature(self.key, body)
        return headers

    async def _post(self, session: aiohttp.ClientSession, slots: asyncio.Semaphore, batch: Batch) -> list[Outcome]:
        url = self.by_endpoint[batch.endpoint]
        body = self.body(batch)
        delay = 0.2
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                # The timeout bounds one attempt, not the wait for a slot.
                async with slots, asyncio.timeout(self.timeout_s):
                    # A redirect would carry the alert and its signature to a URL nobody configured.
                    async with session.post(url, data=body, headers=self.headers(batch.batch_id, body),
                                            allow_redirects=False) as resp:
                        if resp.status < 300:
                            self.delivered += 1
                            return [Outcome(d, True, attempt) for d in batch.deliveries]
                        reason = f"HTTP {resp.status}"
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                reason = type(exc).__name__
            if attempt < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        self.failed += 1
        log.error("webhook.failed", webhook_id=batch.batch_id, alerts=len(batch.deliveries),
                  endpoint=batch.endpoint, attempts=self.attempts, reason=reason)
        return [Outcome(d, False, self.attempts) for d in batch.deliveries]
