"""Alert delivery to the task force's webhooks (`DOSSIER_ALERT_WEBHOOKS`).

Each alert is POSTed as JSON to every configured URL (and only those), with
an `X-Dossier-Signature: sha256=<hex>` HMAC of the body when a secret is set,
and an `Idempotency-Key` header carrying the alert id, so a receiver can drop
a repeat. Failures are retried with exponential backoff, a bounded number of
times; what still fails is logged with the alert id, never the URL's secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any, Sequence

import aiohttp
import orjson
import structlog

log = structlog.get_logger(__name__)


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    def __init__(self, urls: Sequence[str], secret: bytes | None = None, attempts: int = 5, timeout_s: float = 5.0) -> None:
        self.urls = tuple(urls)
        self.secret = secret
        self.attempts = attempts
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.delivered = 0
        self.failed = 0

    async def deliver(self, alerts: Sequence[dict[str, Any]]) -> None:
        if not self.urls:
            return
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            await asyncio.gather(*(self._post(session, url, a) for a in alerts for url in self.urls))

    async def _post(self, session: aiohttp.ClientSession, url: str, alert: dict[str, Any]) -> None:
        body = orjson.dumps(alert)
        headers = {"Content-Type": "application/json", "Idempotency-Key": alert["alert_id"]}
        if self.secret:
            headers["X-Dossier-Signature"] = signature(self.secret, body)
        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    if resp.status < 300:
                        self.delivered += 1
                        return
                    reason = f"HTTP {resp.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                reason = type(exc).__name__
            if attempt < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        self.failed += 1
        log.error("webhook.failed", alert_id=alert["alert_id"], attempts=self.attempts, reason=reason)
