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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import structlog
from kafka import KafkaProducer

from .source import peek, read_lines

log = structlog.get_logger(__name__)


@dataclass
class Produced:
    count: int = 0
    last_offsets: dict[int, int] = field(default_factory=dict)
    max_occurred_at: datetime | None = None
    sources: dict[tuple[int, int], str] = field(default_factory=dict)  # (partition, offset) -> file:line


def produce_file(
    path: Path,
    *,
    bootstrap: str,
    topic: str,
    client_config: dict[str, Any] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Produced:
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
            dossier_id, ts = peek(raw)
            t = _instant(ts)
            if t is not None and (result.max_occurred_at is None or t > result.max_occurred_at):
                result.max_occurred_at = t
            futures.append((n, producer.send(topic, key=(dossier_id or "").encode(), value=raw)))
            result.count += 1
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
    log.info("replay.produced", file=name, records=result.count, partitions=len(result.last_offsets))
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
