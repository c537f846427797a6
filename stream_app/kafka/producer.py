"""Producing a replay file into the events topic, keeping per-dossier order.

Each line is sent with the dossier code as its key (Kafka's default
partitioner then keeps one dossier in one partition, in file order) and a
`file:line` recorded against the partition and offset it landed at (the
embedded broker loses records that carry headers, so the line travels
beside the record, not in it), so a dead letter points back to the line.
A line with no readable dossier code gets an empty key: deterministic, and
its parse error is reported by the worker. Returns the last offset written
per partition, which is how `run` knows when everything was consumed (the
embedded broker under-reports end offsets, so they are never trusted).

A line too large to be a Kafka record (over the producer's `max_request_size`,
1 MiB by default, less a margin for the record and batch framing) is not
sent: producing it would fail and abort the whole file. It comes back in
`Produced.rejected` as a `schema_error` dead letter naming its `file:line`
(records over 1 MiB are schema errors anyway, CONTRACT §1), whose stored raw
bytes are the line's first 64 KiB, the detail giving the full size; `run`
hands it to the worker, which writes and publishes it like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import structlog
from kafka import KafkaProducer

from stream_app.replay.source import peek, read_lines
from stream_app.schemas.parse import SCHEMA_ERROR, DeadLetter

log = structlog.get_logger(__name__)

DEFAULT_MAX_REQUEST_SIZE = 1 << 20  # kafka-python's and Kafka's default request limit
# Room for the batch and record framing and the headers of a request, under the limit.
RECORD_MARGIN = 4096
# A dead letter too large to travel keeps this much of its raw bytes (the detail has the size).
KEPT_RAW_BYTES = 64 * 1024


def max_record_bytes(client_config: dict[str, Any] | None = None) -> int:
    """The largest key + value this producer configuration is allowed to send."""
    limit = int((client_config or {}).get("max_request_size", DEFAULT_MAX_REQUEST_SIZE))
    return max(limit - RECORD_MARGIN, 1)


def too_large(label: str, raw: bytes, key: bytes, limit: int) -> DeadLetter | None:
    """The dead letter of a line that cannot be a Kafka record, or None when it can."""
    size = len(raw) + len(key)
    if size <= limit:
        return None
    detail = (f"too large to be a Kafka record: {len(raw)} bytes, limit {limit}; "
              f"raw keeps the first {min(len(raw), KEPT_RAW_BYTES)} bytes")
    return DeadLetter(source=label, raw=bytes(raw[:KEPT_RAW_BYTES]), error_code=SCHEMA_ERROR, error_detail=detail)


@dataclass
class Produced:
    count: int = 0
    last_offsets: dict[int, int] = field(default_factory=dict)
    max_occurred_at: datetime | None = None
    sources: dict[tuple[int, int], str] = field(default_factory=dict)  # (partition, offset) -> file:line
    rejected: list[DeadLetter] = field(default_factory=list)  # lines too large to send, in file order


def produce_file(
    path: Path,
    *,
    bootstrap: str,
    topic: str,
    client_config: dict[str, Any] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Produced:
    """Send every line; `count` includes the lines returned in `rejected` (not sent)."""
    limit = max_record_bytes(client_config)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        batch_size=256 * 1024,
        acks="all",
        max_in_flight_requests_per_connection=1,  # keeps per-key order across retries
        retries=5,
        **(client_config or {}),
    )
    result = Produced()
    futures = []
    name = path.name
    try:
        for n, raw in read_lines(path):
            result.count += 1
            dossier_id, ts = peek(raw) if len(raw) <= limit else (None, None)  # no parsing of a huge line
            key = (dossier_id or "").encode()
            dead = too_large(f"{name}:{n}", raw, key, limit)
            if dead is not None:
                log.warning("replay.too_large", source=dead.source, bytes=len(raw), limit=limit)
                result.rejected.append(dead)
                continue
            t = _instant(ts)
            if t is not None and (result.max_occurred_at is None or t > result.max_occurred_at):
                result.max_occurred_at = t
            futures.append((n, producer.send(topic, key=key, value=raw)))
            if on_progress is not None and result.count % 5000 == 0:
                on_progress(result.count)
        producer.flush()
        for n, f in futures:
            md = f.get(timeout=60)
            result.sources[(md.partition, md.offset)] = f"{name}:{n}"
            if md.offset > result.last_offsets.get(md.partition, -1):
                result.last_offsets[md.partition] = md.offset
    finally:
        producer.close()
    log.info("replay.produced", file=name, records=result.count, partitions=len(result.last_offsets),
             too_large=len(result.rejected))
    return result


def _instant(ts: str | None) -> datetime | None:
    """An aware timestamp, or None (bad ones are the worker's to report)."""
    if ts is None:
        return None
    try:
        t = datetime.fromisoformat(ts)
    except ValueError:
        return None
    return t if t.tzinfo is not None else None
