"""The outbox: every message a channel owes, one row per message and endpoint.

Why an outbox: an alert is written to ClickHouse before it is sent, and a
restarted worker restores it as already fired, so a crash between the two
would lose the message for good. `Outbox` keeps one row per message and
endpoint of every channel — the alerts topic, each webhook URL, each unit's
e-mail — in `outbox` (store/migrations/005_outbox.sql): written `pending`
before the alert itself, marked `delivered` or `failed` after the send. A
message goes alone (its batch is its own id) or in a digest: the rows of a
digest get its id and the status `sending` before it is sent, so a send that a
crash interrupts repeats with the same id and content. At start the pipeline
sends what is still pending or sending; a message recomputed after a crash is
not sent again once its row is past `pending`. A repeat is possible only when
the worker dies after the receiver accepted and before the mark was written;
it then carries the same id. The table names endpoints by a topic name, a hash
of the URL (a URL may carry a token) or a unit code, and holds only alert
fields or digest figures, no personal data. Blocking calls: the pipeline runs
them in its executor, with the other writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from stream_app.clock import utc_now
from stream_app.core.ports import Batch, Delivery, Outcome
from stream_app.store.client import in_chunks

COLUMNS = ("channel", "endpoint", "delivery_id", "alert_id", "unit", "fires_at", "payload", "batch", "status",
           "attempts", "version", "updated_at")
# A status never goes back: ReplacingMergeTree keeps the highest version.
VERSION = {"pending": 1, "sending": 2, "failed": 3, "delivered": 4}
_SELECT = "channel, endpoint, delivery_id, alert_id, unit, fires_at, payload, batch"


def _row(d: Delivery, status: str, attempts: int, now: datetime, batch: str | None = None) -> list[Any]:
    return [d.channel, d.endpoint, d.delivery_id, d.alert_id, d.unit, d.fires_at, d.body,
            d.batch if batch is None else batch, status, attempts, VERSION[status], now]


def _delivery(r: Sequence[Any]) -> Delivery:
    channel, endpoint, did, aid, unit, fires_at, body, batch = r[:8]
    return Delivery(did, endpoint, aid, body if isinstance(body, bytes) else body.encode(), channel, unit,
                    fires_at, batch)


class Outbox:
    """The `outbox` table."""

    def __init__(self, client: Any, database: str) -> None:
        self.client = client
        self.table = f"{database}.outbox"
        self._rows: list[list[Any]] = []
        # Marks of a channel where a repeat is harmless, written with the next pending rows (one
        # insert instead of two on the live path) or by `flush_all` at the end of a job.
        self._marks: list[list[Any]] = []

    def add(self, deliveries: Sequence[Delivery]) -> None:
        now = utc_now()
        self._rows += [_row(d, "pending", 0, now) for d in deliveries]

    def flush(self) -> None:
        """Write the pending rows (and the marks held back) or raise (they are kept for the retry)."""
        if self._rows:
            self.client.insert(self.table, self._marks + self._rows, column_names=list(COLUMNS))
            self._rows, self._marks = [], []

    def flush_all(self) -> None:
        """Write whatever is held, marks included (the end of a job)."""
        if self._rows or self._marks:
            self.client.insert(self.table, self._marks + self._rows, column_names=list(COLUMNS))
            self._rows, self._marks = [], []

    def mark(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        now = utc_now()
        rows = [_row(o.delivery, "delivered" if o.ok else "failed", o.attempts, now) for o in outcomes]
        self.client.insert(self.table, rows, column_names=list(COLUMNS))

    def mark_later(self, outcomes: Sequence[Outcome]) -> None:
        """Stage the marks with the next flush (a channel where a repeat is harmless)."""
        now = utc_now()
        self._marks += [_row(o.delivery, "delivered" if o.ok else "failed", o.attempts, now) for o in outcomes]

    def claim(self, batches: Sequence[Batch]) -> list[Batch]:
        """Put waiting deliveries in their digests (status `sending`, the digest's id) before
        the digests are sent: what a crash interrupts is sent again as the same digest."""
        now = utc_now()
        rows, out = [], []
        for b in batches:
            members = tuple(Delivery(d.delivery_id, d.endpoint, d.alert_id, d.body, d.channel, d.unit, d.fires_at,
                                     b.batch_id) for d in b.deliveries)
            rows += [_row(d, "sending", 0, now) for d in members]
            out.append(Batch(b.batch_id, b.channel, b.endpoint, members))
        if rows:
            self.client.insert(self.table, rows, column_names=list(COLUMNS))
        return out

    def undelivered(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Those still merely pending (a message recomputed after a crash may have gone already)."""
        if not deliveries:
            return []
        done = {
            (r[0], r[1], r[2]) for ids in in_chunks(sorted({d.delivery_id for d in deliveries}), self.client)
            for r in self.client.query(
                f"SELECT channel, endpoint, delivery_id FROM {self.table} FINAL "
                "WHERE delivery_id IN {ids:Array(String)} AND status != 'pending'",
                parameters={"ids": ids},
            ).result_rows
        }
        return [d for d in deliveries if (d.channel, d.endpoint, d.delivery_id) not in done]

    def pending(self, channels: Sequence[str]) -> list[Delivery]:
        """What a worker that stopped left unsent on these channels, in the order it was
        enqueued: messages on their own still pending, and digests interrupted while sending."""
        if not channels:
            return []
        rows = self.client.query(
            f"SELECT {_SELECT} FROM {self.table} FINAL WHERE channel IN {{channels:Array(String)}} "
            "AND ((status = 'pending' AND batch != '') OR status = 'sending') "
            "ORDER BY updated_at, batch, delivery_id, endpoint",
            parameters={"channels": list(channels)},
        ).result_rows
        return [_delivery(r) for r in rows]

    def waiting(self, channel: str) -> list[tuple[Delivery, datetime]]:
        """Deliveries waiting to be put in a digest, with when each was enqueued (oldest first)."""
        rows = self.client.query(
            f"SELECT {_SELECT}, updated_at FROM {self.table} FINAL WHERE channel = {{channel:String}} "
            "AND status = 'pending' AND batch = '' ORDER BY updated_at, delivery_id, endpoint",
            parameters={"channel": channel},
        ).result_rows
        return [(_delivery(r), r[8]) for r in rows]

    def has(self, channel: str, delivery_id: str) -> bool:
        """Is this message in the outbox at all (a morning digest already sent or on its way)?"""
        rows = self.client.query(
            f"SELECT count() FROM {self.table} WHERE channel = {{channel:String}} AND delivery_id = {{id:String}}",
            parameters={"channel": channel, "id": delivery_id},
        ).result_rows
        return bool(rows and rows[0][0])
