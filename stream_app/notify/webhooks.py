"""Alert delivery to the task force's webhooks (`DOSSIER_ALERT_WEBHOOKS`).

Each alert message is POSTed as JSON to every configured URL (and only those:
redirects are not followed), with an `X-Dossier-Signature: sha256=<hex>` HMAC
of the body when a secret is set, and an `Idempotency-Key` header — the alert
id, or `<alert id>:retracted` for a retraction — so a receiver can drop a repeat.

Deliveries go through the store's outbox (`store.outbox`), so a crash between
writing an alert and posting it loses nothing; this module only knows how to
sign and POST. At most `concurrency` POSTs are in flight, each attempt bounded by `timeout_s`;
failures are retried with exponential backoff a bounded number of times; what
still fails is marked `failed` and logged with the alert id, never the URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any, Sequence

import aiohttp
import orjson
import structlog

from stream_app.core.ports import Delivery, Outcome

log = structlog.get_logger(__name__)


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def endpoint_id(url: str) -> str:
    """How the outbox names a URL without storing it."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def delivery_id(message: dict[str, Any]) -> str:
    """The Idempotency-Key: one per alert and per change of it — `<alert id>` when emitted,
    `<alert id>:retracted` when retracted, `<alert id>:v<n>` for its n-th change after that
    (emitted again once a later event made it real, retracted again, …)."""
    version = int(message.get("version") or (2 if message.get("retracted") else 1))
    if version == 1:
        return str(message["alert_id"])
    if version == 2:
        return f"{message['alert_id']}:retracted"
    return f"{message['alert_id']}:v{version}"


class WebhookNotifier:
    """POSTs deliveries to the configured URLs; knows nothing of the store."""

    def __init__(self, urls: Sequence[str], secret: bytes | None = None, attempts: int = 5, timeout_s: float = 5.0,
                 concurrency: int = 16) -> None:
        self.urls = tuple(urls)
        self.by_endpoint = {endpoint_id(u): u for u in self.urls}
        self.secret = secret
        self.attempts = attempts
        self.timeout_s = timeout_s
        # At most this many POSTs in flight: the end of a replay fires thousands of
        # alerts at once, and a receiver is often a small service.
        self.concurrency = concurrency
        self.delivered = 0
        self.failed = 0

    def deliveries(self, messages: Sequence[dict[str, Any]]) -> list[Delivery]:
        """Every message for every configured URL."""
        out = []
        for m in messages:
            body, did = orjson.dumps(m), delivery_id(m)
            out += [Delivery(did, ep, str(m["alert_id"]), body) for ep in self.by_endpoint]
        return out

    async def deliver(self, messages: Sequence[dict[str, Any]]) -> list[Outcome]:
        return await self.post(self.deliveries(messages))

    async def post(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """POST each delivery whose endpoint is configured; the others are not touched."""
        todo = [d for d in deliveries if d.endpoint in self.by_endpoint]
        if not todo:
            return []
        slots = asyncio.Semaphore(self.concurrency)
        async with aiohttp.ClientSession() as session:
            return list(await asyncio.gather(*(self._post(session, slots, d) for d in todo)))

    async def _post(self, session: aiohttp.ClientSession, slots: asyncio.Semaphore, d: Delivery) -> Outcome:
        headers = {"Content-Type": "application/json", "Idempotency-Key": d.delivery_id}
        if self.secret:
            headers["X-Dossier-Signature"] = signature(self.secret, d.body)
        url = self.by_endpoint[d.endpoint]
        delay = 0.2
        reason = ""
        for attempt in range(1, self.attempts + 1):
            try:
                # The timeout bounds one attempt, not the wait for a slot.
                async with slots, asyncio.timeout(self.timeout_s):
                    # A redirect would carry the alert and its signature to a URL nobody configured.
                    async with session.post(url, data=d.body, headers=headers, allow_redirects=False) as resp:
                        if resp.status < 300:
                            self.delivered += 1
                            return Outcome(d, True, attempt)
                        reason = f"HTTP {resp.status}"
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                reason = type(exc).__name__
            if attempt < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        self.failed += 1
        log.error("webhook.failed", alert_id=d.alert_id, delivery_id=d.delivery_id, endpoint=d.endpoint,
                  attempts=self.attempts, reason=reason)
        return Outcome(d, False, self.attempts)
