"""The worker's glue: processor → ClickHouse → Kafka topics, then acknowledge.

`Pipeline.handle(records)` runs one batch through the processor (in a
single-thread executor, which also owns every chDB call, so state has one
writer and the event loop keeps heart-beating), writes the rows, sends the
alerts and dead letters to their topics, and only then returns — the Faust
agent acknowledges the batch after that, so offsets never pass unwritten rows.
A failing ClickHouse write is retried with backoff until it succeeds: the
outage is logged once when it starts and once when it ends. Webhooks go
through an outbox in ClickHouse (`sinks.webhook`): written before the batch's
rows, posted after the Kafka sends; what a stopped worker left pending is
posted first thing when the pipeline next commits.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Awaitable, Callable

import orjson
import structlog

from stream_app.core.processor import Outbox, Processor, Record
from stream_app.notify.webhooks import Delivery, WebhookNotifier, WebhookOutbox
from stream_app.store.client import ClickHouseSink
from stream_app.store.rows import alert_message

log = structlog.get_logger(__name__)

# The order of a batch's writes: a crash may fall between two of them. Events are the
# truth a restart reads back (a replayed event found there is a duplicate); the rows
# derived from them (states, alerts, retractions) must never be ahead of them, or a
# restart would act on alerts whose events it does not have (raising or retracting
# them again); the watermark goes last: every timer before it has fired and is written.
# Derived rows that a crash left behind are recomputed when the dossier is restored.
# (The webhook outbox is written before all of them.)
WRITE_ORDER = ("dead_letters", "events", "dossier_state", "alerts", "stream_progress")
# Webhook deliveries are recorded this many at a time: the most a crash can repeat.
DELIVERY_CHUNK = 64

Send = Callable[[str, bytes | None, bytes, list[tuple[str, bytes]] | None], Awaitable[Any]]


class ProcessingFailed(RuntimeError):
    """A batch could not be processed; nothing of it was acknowledged."""


class Pipeline:
    def __init__(
        self,
        processor: Processor,
        sink: ClickHouseSink,
        *,
        alerts_topic: str,
        dlq_topic: str,
        webhooks: WebhookNotifier | None = None,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.processor = processor
        self.sink = sink
        self.alerts_topic = alerts_topic
        self.dlq_topic = dlq_topic
        self.webhooks = webhooks
        self.max_backoff_s = max_backoff_s
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipeline")
        self.send: Send | None = None  # set by the Faust adapter
        self.positions: dict[int, int] = {}  # partition -> next offset to process
        self.processed = 0
        self.alerts_sent: list[dict[str, Any]] = []
        self.on_alert: Callable[[dict[str, Any]], None] | None = None
        self._saved_watermark: datetime | None = processor.resumed_watermark  # never persist a lower one
        self.outbox = WebhookOutbox(sink.client, sink.db) if webhooks is not None else None
        self._started = False
        self._lock = asyncio.Lock()
        # The partitions this worker owns (set by a live worker sharing them with others):
        # the watermark it persists is theirs. None: all of them (a replay).
        self.partitions: Callable[[], list[int]] | None = None
        self.batch_done = asyncio.Event()  # set after every handled batch (the live worker waits on it)
        # A batch that raised (never acknowledged): the job stops with its error instead of
        # Faust restarting the agent on the next records (see runner.raise_if_broken).
        self.failure: BaseException | None = None

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def handle(self, records: list[Record]) -> None:
        if self.failure is not None:  # Faust restarts a crashed agent: it must not carry on past the failure
            raise ProcessingFailed("the pipeline stopped after an earlier failure") from self.failure
        try:
            async with self._lock:
                out = await self.call(self.processor.process, records)
                await self._commit(out)
                for r in records:
                    self.positions[r.partition] = max(self.positions.get(r.partition, 0), r.offset + 1)
                self.processed += len(records)
        except Exception as exc:  # a bug, not bad input (that is a dead letter): stop, loudly
            self.failure = exc
            log.error("pipeline.failed", error=type(exc).__name__, detail=str(exc)[:200], records=len(records),
                      first=f"{records[0].partition}/{records[0].offset}" if records else None, exc_info=True)
            raise
        self.batch_done.set()

    async def advance(self, watermark: datetime, partitions: list[int] | None = None) -> None:
        async with self._lock:
            out = await self.call(self.processor.advance, watermark, partitions)
            await self._commit(out)

    async def finish(self, as_of: datetime) -> None:
        async with self._lock:
            out = await self.call(self.processor.finish, as_of)
            await self._commit(out, force_progress=True)

    async def start(self) -> None:
        """Post the webhooks a stopped worker left pending (once; also done by the first commit)."""
        if self._started:
            return
        self._started = True
        if self.outbox is None or self.webhooks is None:
            return
        pending = await self._until_done(self.outbox.pending)
        if pending:
            log.warning("webhook.redelivering", deliveries=len(pending))
            posted = await self._deliver(pending)
            if posted < len(pending):  # their URL is no longer configured: they stay pending
                log.warning("webhook.unconfigured_endpoint", deliveries=len(pending) - posted)

    async def _commit(self, out: Outbox, force_progress: bool = False) -> None:
        await self.start()
        sink = self.sink
        messages = [alert_message(row) for row in out.alerts]
        deliveries = self.webhooks.deliveries(messages) if self.webhooks is not None else []
        if self.outbox is not None and deliveries:
            self.outbox.add(deliveries)
        sink.add("events", out.events)
        sink.add("dead_letters", out.dead_letters)
        sink.add("dossier_state", out.state_rows)
        sink.add("alerts", out.alerts)
        mark = self.processor.low_watermark(self.partitions() if self.partitions is not None else None)
        if mark is not None and (force_progress or self._saved_watermark is None or mark > self._saved_watermark):
            sink.add("stream_progress", [["watermark", mark, self.processor.now()]])
        if sink.pending or deliveries:
            await self._until_done(self._write)
            self._saved_watermark = mark
        await self._publish(out, messages, deliveries)

    def _write(self) -> None:
        # The outbox first: an alert row must never be in the store without its delivery row.
        if self.outbox is not None:
            self.outbox.flush()
        self.sink.flush(WRITE_ORDER)

    async def _until_done(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a ClickHouse call in the executor until it succeeds; log an outage once."""
        delay, failing_since = 0.5, None
        while True:
            try:
                result = await self.call(fn, *args)
                if failing_since is not None:
                    log.warning("sink.recovered", outage_s=round(time.monotonic() - failing_since, 1))
                return result
            except Exception as exc:  # any failure: keep the rows, wait, retry
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.error("sink.outage", error=type(exc).__name__, detail=str(exc)[:200], pending=self.sink.pending)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)

    async def _publish(self, out: Outbox, messages: list[dict[str, Any]], deliveries: list[Delivery]) -> None:
        if self.send is not None:
            futures = []
            for dl in out.dlq:
                headers = [("error_code", dl.error_code.encode()), ("error_detail", dl.error_detail.encode()),
                           ("source", dl.source.encode())]
                futures.append(await self.send(self.dlq_topic, None, dl.raw, headers))
            for msg in messages:
                futures.append(await self.send(self.alerts_topic, msg["dossier_id"].encode(), orjson.dumps(msg), None))
            for f in futures:
                if isinstance(f, asyncio.Future):
                    await f
        if messages:
            if self.webhooks is not None and self.outbox is not None:
                await self._deliver(await self._until_done(self.outbox.undelivered, deliveries))
            if self.on_alert is not None:
                for msg in messages:
                    self.on_alert(msg)

    async def _deliver(self, deliveries: list[Delivery]) -> int:
        """POST and record, a chunk at a time: a crash can repeat at most one chunk's POSTs."""
        if self.webhooks is None or self.outbox is None:
            return 0
        posted = 0
        for i in range(0, len(deliveries), DELIVERY_CHUNK):
            outcomes = await self.webhooks.post(deliveries[i:i + DELIVERY_CHUNK])
            await self._until_done(self.outbox.mark, outcomes)
            posted += len(outcomes)
        return posted

    def close(self) -> None:
        self.executor.shutdown(wait=True)
