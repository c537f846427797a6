"""Producing into the events topic: the one producer recipe, and a feed sent whole.

Every record is sent with the dossier code as its key, so Kafka's default
partitioner keeps one dossier in one partition, in feed order (`partition_of`
is that partitioner, for whoever must know where a dossier lives). The
producer waits for every replica (`acks=all`) and keeps one request in flight
per connection, so retries never reorder a key.

A record too large to be a Kafka record (over the producer's
`max_request_size`, 1 MiB by default, less a margin for the record and batch
framing) is not sent: producing it would fail and abort the whole feed.
`too_large` gives its `schema_error` dead letter naming its label (records over
1 MiB are schema errors anyway, docs/contract.md §1), whose raw bytes are the first
64 KiB, the detail giving the full size.

`produce` sends a feed and returns the last offset written per partition,
which is how `run` knows when everything was consumed (the embedded broker
under-reports end offsets, so they are never trusted), and each record's label
against the partition and offset it landed at (the embedded broker loses
records that carry headers, so the label travels beside the record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Protocol

import structlog
from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from stream_app.core.ports import Partitioner
from stream_app.domain.codes import SCHEMA_ERROR
from stream_app.schemas.parse import DeadLetter

log = structlog.get_logger(__name__)

DEFAULT_MAX_REQUEST_SIZE = 1 << 20  # kafka-python's and Kafka's default request limit
# Room for the batch and record framing and the headers of a request, under the limit.
RECORD_MARGIN = 4096
# A dead letter too large to travel keeps this much of its raw bytes (the detail has the size).
KEPT_RAW_BYTES = 64 * 1024


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner puts this key in."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def partitioner(partitions: int) -> Partitioner:
    """Where a dossier's events live, by its code."""
    return lambda dossier_id: partition_of(dossier_id.encode(), partitions)


def producer(bootstrap: str, client_config: dict[str, Any] | None = None, *, paced: bool = False) -> KafkaProducer:
    """The product's producer: batches (a paced replay waits less for company)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=2 if paced else 20,
        batch_size=256 * 1024,
        acks="all",
        max_in_flight_requests_per_connection=1,  # keeps per-key order across retries
        retries=5,
        **(client_config or {}),
    )


def max_record_bytes(client_config: dict[str, Any] | None = None) -> int:
    """The largest key + value this producer configuration is allowed to send."""
    limit = int((client_config or {}).get("max_request_size", DEFAULT_MAX_REQUEST_SIZE))
    return max(limit - RECORD_MARGIN, 1)


def too_large(label: str, raw: bytes, key: bytes, limit: int) -> DeadLetter | None:
    """The dead letter of a record that cannot be a Kafka record, or None when it can."""
    size = len(raw) + len(key)
    if size <= limit:
        return None
    detail = (f"too large to be a Kafka record: {len(raw)} bytes, limit {limit}; "
              f"raw keeps the first {min(len(raw), KEPT_RAW_BYTES)} bytes")
    return DeadLetter(source=label, raw=bytes(raw[:KEPT_RAW_BYTES]), error_code=SCHEMA_ERROR, error_detail=detail)


class Item(Protocol):
    """One record of a feed (`replay.feed.Item`)."""

    raw: bytes
    key: bytes
    occurred_at: datetime | None
    label: str


@dataclass
class Produced:
    count: int = 0
    last_offsets: dict[int, int] = field(default_factory=dict)
    max_occurred_at: datetime | None = None
    labels: dict[tuple[int, int], str] = field(default_factory=dict)  # (partition, offset) -> file:line
    rejected: list[DeadLetter] = field(default_factory=list)  # records too large to send, in feed order

    def admit(self, item: Item, limit: int) -> bool:
        """Count the item; False when it is too large to be a record (it is then rejected)."""
        self.count += 1
        dead = too_large(item.label, item.raw, item.key, limit)
        if dead is not None:
            log.warning("replay.too_large", source=dead.source, bytes=len(item.raw), limit=limit)
            self.rejected.append(dead)
            return False
        t = item.occurred_at
        if t is not None and (self.max_occurred_at is None or t > self.max_occurred_at):
            self.max_occurred_at = t
        return True


def produce(
    items: Iterable[Item],
    *,
    name: str,
    bootstrap: str,
    topic: str,
    client_config: dict[str, Any] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Produced:
    """Send every item; `count` includes the items returned in `rejected` (not sent)."""
    limit = max_record_bytes(client_config)
    kafka = producer(bootstrap, client_config)
    result = Produced()
    futures = []
    try:
        for item in items:
            if not result.admit(item, limit):
                continue
            futures.append((item.label, kafka.send(topic, key=item.key, value=item.raw)))
            if on_progress is not None and result.count % 5000 == 0:
                on_progress(result.count)
        kafka.flush()
        for label, f in futures:
            md = f.get(timeout=60)
            result.labels[(md.partition, md.offset)] = label
            if md.offset > result.last_offsets.get(md.partition, -1):
                result.last_offsets[md.partition] = md.offset
    finally:
        kafka.close()
    log.info("replay.produced", file=name, records=result.count, partitions=len(result.last_offsets),
             too_large=len(result.rejected))
    return result
