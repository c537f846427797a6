"""A Faust transport whose consumer hands messages to the agents directly.

Faust's consumer loop delivers every message through
`wait_first(callback(message), suspend_flow.wait())`, which creates several
tasks and an `asyncio.wait` per message — most of Faust's per-message cost
(PLATFORM.md). `DirectConsumer` awaits the delivery coroutine itself. Flow
control is kept: the delivery (the conductor's `on_message`) still waits on
Faust's flow control before it enqueues, so a rebalance still pauses
delivery. Offsets already read are skipped and offset gaps are recorded for
acknowledgement, as Faust does. Its fetches wait at most 100 ms for data
instead of Faust's fixed 1.5 s, which bounded live latency. Registered as the
`dossier://` broker scheme.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as aiokafka_driver

SCHEME = "dossier"


FETCH_MAX_WAIT_MS = 100  # Faust hard-codes 1500: an idle fetch then delays a live event by up to 1.5 s


class ShortWaitConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when its fetcher starts; Faust offers no setting for it.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class DirectConsumer(aiokafka_driver.Consumer):
    #: monotonic time of the last record handed to the agents, and whether one
    #: is being handed over now: the live worker's "caught up" test reads them.
    last_delivery: float = 0.0
    in_delivery: bool = False

    def _new_consumer_thread(self) -> Any:
        return ShortWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # noqa: C901 - one loop, kept whole
        callback = self.callback
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        commit_every = self._commit_every
        stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (stopped() or fetcher_stopped()):
                async for tp, message in self.getmany(timeout=1.0):
                    offset = message.offset
                    last = read_offset[tp]
                    if last is not None and offset < last:
                        continue  # already delivered before a seek
                    if last and offset - last > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, last + 1, offset)
                    if commit_every is not None and self._n_acked >= commit_every:
                        self._n_acked = 0
                        await self.commit()
                    self.in_delivery = True
                    try:
                        await callback(message)
                    finally:
                        self.in_delivery = False
                        self.last_delivery = time.monotonic()
                    read_offset[tp] = offset
                await asyncio.sleep(0)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise


class DirectTransport(aiokafka_driver.Transport):
    Consumer = DirectConsumer


def register() -> None:
    """Make `dossier://host:port` use this transport (idempotent)."""
    drivers.TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:DirectTransport")
