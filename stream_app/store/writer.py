"""Writing a batch: the tables in their commit order, then the outbox's marks.

`ClickHouseSink` buffers rows per table and writes them all or raises (STYLE:
a sink is `add(rows)` and `flush()`). `BatchWriter` is the pipeline's store: it
turns a batch's `Output` into rows (`store.rows`), stages them with the outbox's
deliveries and the stream progress, and flushes them in `WRITE_ORDER`.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from typing import Any, Iterator, Sequence

import structlog

from stream_app.core.output import Output
from stream_app.core.ports import Batch, Delivery, Outcome, StoreUnavailable
from stream_app.store.client import check_identifier, is_transient
from stream_app.store.outbox import Outbox
from stream_app.store.rows import alert_row, dead_letter_row, event_row, state_row

log = structlog.get_logger(__name__)

# The order of a batch's writes: a crash may fall between two of them. Events are the
# truth a restart reads back (a replayed event found there is a duplicate); the rows
# derived from them (states, alerts, retractions) must never be ahead of them, or a
# restart would act on alerts whose events it does not have (raising or retracting
# them again); the watermark goes last: every timer before it has fired and is written.
# Derived rows that a crash left behind are recomputed when the dossier is restored.
# (The outbox is written before all of them.)
WRITE_ORDER = ("dead_letters", "events", "dossier_state", "alerts", "stream_progress")


class ClickHouseSink:
    """Buffers rows per table; `flush()` writes them all or raises.

    Guarantees: rows added before a successful `flush()` are in ClickHouse
    when it returns; after a failure the buffer is kept intact, so the caller
    retries the same rows (every table is idempotent, so a partial write that
    is retried leaves the same logical rows). The caller acknowledges Kafka
    offsets only after `flush()` returned.
    """

    def __init__(self, client: Any, database: str, columns: dict[str, Sequence[str]]) -> None:
        self.client = client
        self.db = check_identifier(database)
        self.columns = columns
        self._rows: dict[str, list[list[Any]]] = {t: [] for t in columns}

    def add(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        self._rows[table].extend(rows)  # type: ignore[arg-type]

    @property
    def pending(self) -> int:
        return sum(len(r) for r in self._rows.values())

    def flush(self, order: Sequence[str] = ()) -> dict[str, int]:
        """Write every buffered row, the tables named in `order` in that order, then the rest.

        Each table's rows go in one insert (atomic); the tables one after another, so a
        crash may land between two of them: the caller orders them so that what is
        written last is what marks the rows as done.
        """
        written = {}
        tables = [*order, *(t for t in self._rows if t not in order)]
        for table in tables:
            rows = self._rows[table]
            if not rows:
                continue
            t0 = time.perf_counter()
            self.client.insert(f"{self.db}.{table}", rows, column_names=list(self.columns[table]))
            written[table] = len(rows)
            log.debug("sink.flushed", table=table, rows=len(rows), duration_ms=round((time.perf_counter() - t0) * 1000, 1))
            self._rows[table] = []
        return written


class BatchWriter:
    """The pipeline's `BatchStore` on ClickHouse: a batch's rows and its outbox rows."""

    def __init__(self, sink: ClickHouseSink, outbox: Outbox) -> None:
        self.sink = sink
        self.outbox = outbox

    @property
    def pending(self) -> int:
        return self.sink.pending

    def stage(self, output: Output, watermark: datetime | None, deliveries: Sequence[Delivery]) -> None:
        at = output.at
        self.outbox.add(deliveries)
        self.sink.add("events", [event_row(ev, at) for ev in output.events])
        self.sink.add("dead_letters", [dead_letter_row(dl, at) for dl in output.dead_letters])
        self.sink.add("dossier_state", [state_row(s, at) for s in output.states])
        self.sink.add("alerts", [alert_row(a) for a in output.alerts])
        if watermark is not None:
            self.sink.add("stream_progress", [["watermark", watermark, at]])

    def flush(self) -> None:
        # The outbox first: an alert row must never be in the store without its delivery row.
        with transient_as_unavailable():
            self.outbox.flush()
            self.sink.flush(WRITE_ORDER)

    def undelivered(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        with transient_as_unavailable():
            return self.outbox.undelivered(deliveries)

    def mark(self, outcomes: Sequence[Outcome]) -> None:
        with transient_as_unavailable():
            self.outbox.mark(outcomes)

    def mark_later(self, outcomes: Sequence[Outcome]) -> None:
        self.outbox.mark_later(outcomes)

    def settle(self) -> None:
        with transient_as_unavailable():
            self.outbox.flush_all()

    def pending_deliveries(self, channels: Sequence[str]) -> list[Delivery]:
        with transient_as_unavailable():
            return self.outbox.pending(channels)

    def claim(self, batches: Sequence[Batch]) -> list[Batch]:
        with transient_as_unavailable():
            return self.outbox.claim(batches)

    def waiting(self, channel: str) -> list[tuple[Delivery, datetime]]:
        with transient_as_unavailable():
            return self.outbox.waiting(channel)

    def has(self, channel: str, delivery_id: str) -> bool:
        with transient_as_unavailable():
            return self.outbox.has(channel, delivery_id)


@contextlib.contextmanager
def transient_as_unavailable() -> Iterator[None]:
    """A transient store error becomes `StoreUnavailable` (the pipeline retries it);
    any other error passes as it is (the pipeline stops on it)."""
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise StoreUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
        raise
