"""A Faust transport that hands the agents one chunk of records per partition fetch.

Faust's consumer turns every fetched record into a `Message`, delivers it
through `wait_first(callback(message), suspend_flow.wait())` (several tasks
and an `asyncio.wait` per message), wraps it in an `Event`, queues it for the
stream, and tracks its acknowledgement — about 75 µs a record, which capped
the worker near 13 000 events/s before it did any work (docs/performance.md).

`DirectConsumer` delivers each partition's share of a fetch as one message
whose value is a `RecordChunk` (the aiokafka records, in offset order) and
whose offset is the chunk's last. The offsets inside the chunk are recorded
as a gap that counts as acknowledged only once the chunk itself is: Faust
commits past a gap only up to the highest acknowledged offset, so an
acknowledged chunk commits `last + 1` and an unacknowledged one commits
nothing of it — at-least-once holds per chunk. Flow control is Faust's: the
delivery (the conductor's `on_message`) still waits on flow control, and a
new consumer generation (a rebalance) stops the delivery of a fetch.

Fetches wait at most 100 ms for data instead of Faust's fixed 1.5 s, which
bounded live latency; a fetch returns at most `max_poll_records` records.
Registered as the `dossier://` broker scheme; every topic the app consumes
through it arrives in chunks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

from faust.transport import drivers
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP

SCHEME = "dossier"

FETCH_MAX_WAIT_MS = 100  # Faust hard-codes 1500: an idle fetch then delays a live event by up to 1.5 s


@dataclass(frozen=True, slots=True)
class RecordChunk:
    """Consecutive records of one partition, as fetched (aiokafka `ConsumerRecord`s)."""

    records: Sequence[Any]


class ShortWaitConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when its fetcher starts; Faust offers no setting for it.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class DirectConsumer(aiokafka_driver.Consumer):
    #: whether a chunk is being handed to the agents now (the live worker's
    #: "caught up" test waits until it is in the pipeline's positions).
    in_delivery: bool = False

    def _new_consumer_thread(self) -> Any:
        return ShortWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:
        stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (stopped() or fetcher_stopped()):
                records, active = await self._wait_next_records(1.0)
                if not records or self.should_stop:
                    await asyncio.sleep(0)
                    continue
                generation = self.app.consumer_generation_id
                for tp, batch in records.items():
                    if not self.flow_active or self.app.consumer_generation_id != generation:
                        break  # a rebalance: what is left is fetched again from the committed offsets
                    if active is None or tp in active or tp in self._buffered_partitions:
                        await self._deliver(tp, batch)
                await asyncio.sleep(0)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    async def _deliver(self, tp: TP, batch: Sequence[Any]) -> None:
        last_read = self._read_offset[tp]
        if last_read is not None:
            batch = [r for r in batch if r.offset >= last_read]  # already delivered before a seek
        if not batch:
            return
        first, last = batch[0].offset, batch[-1].offset
        if self.app.topics.acks_enabled_for(tp.topic):
            # Everything below the chunk's own offset (a gap since the last read, and
            # the chunk's other records) is acknowledged together with the chunk.
            low = first if last_read is None else min(first, last_read + 1)
            if low < last:
                await self._add_gap(tp, low, last - 1)
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()
        self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
        tail = batch[-1]
        message = aiokafka_driver.ConsumerMessage(
            tp.topic, tp.partition, last,
            tail.timestamp / 1000.0 if tail.timestamp is not None else None, tail.timestamp_type,
            [], None, RecordChunk(batch), None, 0, sum(r.serialized_value_size for r in batch), tp,
            generation_id=self.app.consumer_generation_id,
        )
        self.in_delivery = True
        try:
            await self.callback(message)
        finally:
            self.in_delivery = False
        self._read_offset[tp] = last


class DirectTransport(aiokafka_driver.Transport):
    Consumer = DirectConsumer


def register() -> None:
    """Make `dossier://host:port` use this transport (idempotent)."""
    drivers.TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:DirectTransport")
