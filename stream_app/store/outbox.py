"""The outbox: every alert message a notifier must deliver, one row per endpoint.

Why an outbox: an alert is written to ClickHouse before it is posted, and a
restarted worker restores it as already fired, so a crash between the two
would lose the message for good. `Outbox` keeps one row per message and
endpoint in `webhook_deliveries` (store/migrations/003_webhooks.sql): written
`pending` before the alert itself, marked `delivered` or `failed` after the
POSTs. At start the pipeline posts what is still pending, with the body and
signature it had; a message recomputed after a crash is not posted again if
its row is already `delivered`. A repeat is possible only when the worker dies
after the receiver answered and before the mark was written; it then carries
the same Idempotency-Key and body. The table names endpoints by a hash of the
URL (a URL may carry a token) and holds only alert fields, no personal data.
Blocking calls: the pipeline runs them in its executor, with the other writes.
"""

from __future__ import annotations

from typing import Any, Sequence

from stream_app.clock import utc_now
from stream_app.core.ports import Delivery, Outcome

COLUMNS = ("delivery_id", "endpoint", "alert_id", "payload", "status", "attempts", "version", "updated_at")
# A status never goes back: ReplacingMergeTree keeps the highest version.
VERSION = {"pending": 1, "failed": 2, "delivered": 3}


class Outbox:
    """The `webhook_deliveries` table."""

    def __init__(self, client: Any, database: str) -> None:
        self.client = client
        self.table = f"{database}.webhook_deliveries"
        self._rows: list[list[Any]] = []

    def add(self, deliveries: Sequence[Delivery]) -> None:
        now = utc_now()
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
        now = utc_now()
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
