"""Alert delivery to the task force's webhooks (`DOSSIER_ALERT_WEBHOOKS`), through an outbox.

Each alert message is POSTed as JSON to every configured URL (and only those:
redirects are not followed), with an `X-Dossier-Signature: sha256=<hex>` HMAC
of the body when a secret is set, and an `Idempotency-Key` header — the alert
id, or `<alert id>:retracted` for a retraction — so a receiver can drop a repeat.

Why an outbox: an alert is written to ClickHouse before it is posted, and a
restarted worker restores it as already fired, so a crash between the two
would lose the webhook for good. `WebhookOutbox` keeps one row per message and
endpoint in `webhook_deliveries` (sinks/migrations/003_webhooks.sql): written
`pending` before the alert itself, marked `delivered` or `failed` after the
POSTs. At start the pipeline posts what is still pending, with the body and
signature it had; a message recomputed after a crash is not posted again if
its row is already `delivered`. A repeat is possible only when the worker dies
after the receiver answered and before the mark was written; it then carries
the same Idempotency-Key and body. The table names endpoints by a hash of the
URL (a URL may carry a token) and holds only alert fields, no personal data.
At most `concurrency` POSTs are in flight, each attempt bounded by `timeout_s`;
failures are retried with exponential backoff a bounded number of times; what
still fails is marked `failed` and logged with the alert id, never the URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

import aiohttp
import orjson
import structlog

log = structlog.get_logger(__name__)

COLUMNS = ("delivery_id", "endpoint", "alert_id", "payload", "status", "attempts", "version", "updated_at")
# A status never goes back: ReplacingMergeTree keeps the highest version.
VERSION = {"pending": 1, "failed": 2, "delivered": 3}


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def endpoint_id(url: str) -> str:
    """How the outbox names a URL without storing it."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def delivery_id(message: dict[str, Any]) -> str:
    """The Idempotency-Key: one per alert and per retraction of it."""
    return f"{message['alert_id']}:retracted" if message.get("retracted") else str(message["alert_id"])


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one endpoint, with the exact body that is signed and posted."""

    delivery_id: str
    endpoint: str
    alert_id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery: Delivery
    ok: bool
    attempts: int


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


class WebhookOutbox:
    """The `webhook_deliveries` table. Blocking calls: run them where the sink runs."""

    def __init__(self, client: Any, database: str) -> None:
        self.client = client
        self.table = f"{database}.webhook_deliveries"
        self._rows: list[list[Any]] = []

    def add(self, deliveries: Sequence[Delivery]) -> None:
        now = datetime.now(timezone.utc)
        self._rows += [[d.delivery_id, d.endpoint, d.alert_id, d.body, "pending", 0, VERSION["pending"], now]
                       for d in deliveries]

    def flush(self) -> None:
        """Write the pending rows or raise (the rows are kept for the retry)."""
        if self._rows:
            self.client.insert(self.table, self._rows, column_names=list(COLUMNS))
            self._rows = []

    def mark(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        now = datetime.now(timezone.utc)
        rows = []
        for o in outcomes:
            status = "delivered" if o.ok else "failed"
            d = o.delivery
            rows.append([d.delivery_id, d.endpoint, d.alert_id, d.body, status, o.attempts, VERSION[status], now])
        self.client.insert(self.table, rows, column_names=list(COLUMNS))

    def undelivered(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Those not yet delivered (a message recomputed after a crash may have been)."""
        if not deliveries:
            return []
        done = {
            (r[0], r[1]) for r in self.client.query(
                f"SELECT delivery_id, endpoint FROM {self.table} FINAL "
                "WHERE delivery_id IN {ids:Array(String)} AND status = 'delivered'",
                parameters={"ids": sorted({d.delivery_id for d in deliveries})},
            ).result_rows
        }
        return [d for d in deliveries if (d.delivery_id, d.endpoint) not in done]

    def pending(self) -> list[Delivery]:
        """What a worker that stopped left unposted, in the order it was enqueued."""
        rows = self.client.query(
            f"SELECT delivery_id, endpoint, alert_id, payload FROM {self.table} FINAL "
            "WHERE status = 'pending' ORDER BY updated_at, delivery_id, endpoint"
        ).result_rows
        return [Delivery(did, ep, aid, body if isinstance(body, bytes) else body.encode()) for did, ep, aid, body in rows]
