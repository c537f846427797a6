"""The pipeline's `Publisher` on Kafka: alert messages and dead letters to their topics.

Sends go straight to the Faust app's producer: a Faust `Topic.send` builds a
`FutureMessage` and goes through the channel machinery per message (~6 % of a
replay's time). An alert is keyed by its dossier; a dead letter carries its code,
detail and source as headers (a consumer of the DLQ needs no table to know why).
`publish` returns once the broker has acknowledged every message.
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

import faust
import orjson

from stream_app.schemas.parse import DeadLetter


class KafkaPublisher:
    def __init__(self, app: faust.App, *, alerts_topic: str, dlq_topic: str) -> None:
        self.app = app
        self.alerts_topic = alerts_topic
        self.dlq_topic = dlq_topic

    async def _send(self, topic: str, key: bytes | None, value: bytes,
                    headers: list[tuple[str, bytes]] | None) -> Any:
        return await self.app.producer.send(topic, key, value, None, None, headers)

    async def publish(self, alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]) -> None:
        futures = []
        for dl in dead_letters:
            headers = [("error_code", dl.error_code.encode()), ("error_detail", dl.error_detail.encode()),
                       ("source", dl.source.encode())]
            futures.append(await self._send(self.dlq_topic, None, dl.raw, headers))
        for msg in alerts:
            futures.append(await self._send(self.alerts_topic, msg["dossier_id"].encode(), orjson.dumps(msg), None))
        for f in futures:
            if isinstance(f, asyncio.Future):
                await f
