"""The pipeline's `Publisher` and alerts `Channel` on Kafka: dead letters and alert messages to their topics.

Sends go straight to the Faust app's producer: a Faust `Topic.send` builds a
`FutureMessage` and goes through the channel machinery per message (~6 % of a
replay's time). A dead letter carries its code, detail and source as headers (a
consumer of the DLQ needs no table to know why); its truth is the `dead_letters`
table. An alert message goes through the outbox like a webhook (its `delivery`
row is written before the alert row, marked once the broker acknowledged), so an
alert written just before a crash is still sent by the next start: at least
once, keyed by its alert id (every change of one alert in one partition, in
order), so a consumer drops a repeat by the body's (alert id, version). Each send returns once the broker has
acknowledged it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

import faust
import orjson
import structlog

from stream_app.core.output import message_key
from stream_app.core.ports import Batch, Delivery, Outcome
from stream_app.schemas.parse import DeadLetter

log = structlog.get_logger(__name__)


class KafkaPublisher:
    name = "topic"
    # Deliveries marked per chunk: a crash repeats at most this many sends, and a repeat on
    # the topic is cheap (consumers drop it by alert id and version); a replay's end fires
    # thousands at once, which 64 at a time would serialise on the broker's acks.
    chunk = 5000
    # A repeat is harmless here: no outbox query before a send, and the marks go with the next write.
    repeats_harmless = True

    def __init__(self, app: faust.App, *, alerts_topic: str, dlq_topic: str) -> None:
        self.app = app
        self.alerts_topic = alerts_topic
        self.dlq_topic = dlq_topic

    async def _send(self, topic: str, key: bytes | None, value: bytes,
                    headers: list[tuple[str, bytes]] | None) -> Any:
        return await self.app.producer.send(topic, key, value, None, None, headers)

    async def publish(self, alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]) -> None:
        """Dead letters to the DLQ topic (and, for a caller without an outbox, alert messages)."""
        futures = []
        for dl in dead_letters:
            headers = [("error_code", dl.error_code.encode()), ("error_detail", dl.error_detail.encode()),
                       ("source", dl.source.encode())]
            futures.append(await self._send(self.dlq_topic, None, dl.raw, headers))
        for msg in alerts:
            futures.append(await self._send(self.alerts_topic, str(msg["alert_id"]).encode(), orjson.dumps(msg), None))
        for f in futures:
            if isinstance(f, asyncio.Future):
                await f

    # ------------------------------------------------------- the alerts channel
    def deliveries(self, messages: Sequence[dict[str, Any]], *, catch_up: bool = False) -> list[Delivery]:
        """One per message; the topic keeps every alert, so it never waits for a digest."""
        out = []
        for m in messages:
            mid = message_key(m)
            out.append(Delivery(mid, self.alerts_topic, str(m["alert_id"]), orjson.dumps(m), self.name,
                                str(m.get("receiving_unit") or ""), None, mid))
        return out

    async def send(self, sends: Sequence[Batch]) -> list[Outcome]:
        futures: list[tuple[Delivery, Any]] = []
        for b in sends:
            for d in b.deliveries:
                # No record headers: the body carries alert_id and version, and headers cost the
                # live path about half its event → alert latency on the embedded broker (bench).
                futures.append((d, await self._send(d.endpoint, d.alert_id.encode(), d.body, None)))
        out = []
        for d, f in futures:
            if isinstance(f, asyncio.Future):
                await f  # a send the broker refused raises: the batch stops, unmarked, and is sent again
            out.append(Outcome(d, True, 1))
        return out

