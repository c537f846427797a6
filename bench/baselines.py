"""The two baselines, read from the same produced topic as the end-to-end run reads.

`measure_ceiling`: a bare aiokafka consumer that decodes every value with orjson
and does nothing else — no framework can go faster on this broker, so it is the
ceiling (its clock starts once it is assigned: the first fetch is work, not
start-up). `measure_peer`: the design a Faust user writes first — one agent that
validates each event with pydantic (the product's own `Event` union) and writes
one Table entry per event, keyed by dossier, with the event as the value. The
peer runs on Faust's defaults (stock transport, monitor, linger, memory store):
only the group timeouts are the product's, and they shorten the start-up, which
its rate leaves out anyway. Both stop when every
partition is consumed up to the offsets the producer reported (the embedded
broker under-reports end offsets). The peer's rate excludes start-up (group
join, table recovery): records after the first delivery, divided by the time
from the first delivery to the last.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson


def _rate(count: int, first_count: int, t_first: float | None, t_last: float | None) -> int | None:
    """Events per second between two instants; None when too few events to time."""
    if t_first is None or t_last is None or t_last <= t_first or count <= first_count:
        return None
    return round((count - first_count) / (t_last - t_first))


def measure_ceiling(bootstrap: str, topic: str, targets: dict[int, int]) -> dict[str, Any]:
    """Bare aiokafka consumer (manual assignment, no group) + orjson decode of every value."""
    return asyncio.run(_ceiling(bootstrap, topic, targets))


async def _ceiling(bootstrap: str, topic: str, targets: dict[int, int]) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    t0 = time.perf_counter()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=4 << 20, fetch_max_bytes=16 << 20)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in targets]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        positions: dict[int, int] = {}
        count = invalid = 0
        # The bare consumer has no start-up to speak of: its clock starts when it is
        # assigned, so the first fetch counts as work.
        t_ready = time.perf_counter()
        t_first = t_last = None
        while any(positions.get(p, 0) < end for p, end in targets.items()):
            batch = await consumer.getmany(timeout_ms=1000, max_records=20_000)
            for tp, messages in batch.items():
                for m in messages:
                    try:
                        orjson.loads(m.value)
                    except orjson.JSONDecodeError:
                        invalid += 1
                positions[tp.partition] = messages[-1].offset + 1
                count += len(messages)
            if batch:
                t_last = time.perf_counter()
                t_first = t_first or t_last
    finally:
        await consumer.stop()
    return {
        "events": count, "invalid_json": invalid,
        "startup_s": round((t_first or t0) - t0, 3),
        "total_s": round(time.perf_counter() - t0, 3),
        "events_per_s": _rate(count, 0, t_ready, t_last),
    }


def measure_peer(bootstrap: str, topic: str, targets: dict[int, int], partitions: int) -> dict[str, Any]:
    """The naive Faust agent: pydantic validation and one Table entry per event."""
    return asyncio.run(_peer(bootstrap, topic, targets, partitions))


async def _peer(bootstrap: str, topic: str, targets: dict[int, int], partitions: int) -> dict[str, Any]:
    import faust
    from pydantic import TypeAdapter, ValidationError

    from stream_app.schemas.events import Event
    from stream_app.settings import Settings

    adapter: TypeAdapter[Any] = TypeAdapter(Event)
    settings = Settings()
    app = faust.App(
        "bench-peer", broker=f"kafka://{bootstrap}", store="memory://", topic_partitions=partitions,
        broker_session_timeout=settings.session_timeout_s, broker_heartbeat_interval=settings.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest", web_enabled=False, processing_guarantee="at_least_once",
    )
    # Raw source serializers: Faust's default JSON codec would crash the agent on a malformed line.
    source = app.topic(topic, key_type=bytes, value_type=bytes, key_serializer="raw",
                       value_serializer="raw", partitions=partitions)
    table = app.Table("peer-dossiers", default=None, partitions=partitions)
    seen = {"count": 0, "invalid": 0, "t_first": None, "t_last": None}
    positions: dict[int, int] = {}

    @app.agent(source, name="peer", concurrency=1)
    async def peer(stream: faust.StreamT) -> None:
        async for _key, value in stream.items():
            try:
                event = adapter.validate_json(value)
            except ValidationError:
                seen["invalid"] += 1
            else:
                table[event.dossier_id] = event.model_dump(mode="json")
            msg = stream.current_event.message
            positions[msg.partition] = msg.offset + 1
            seen["count"] += 1
            seen["t_last"] = time.perf_counter()
            if seen["t_first"] is None:
                seen["t_first"] = seen["t_last"]

    t0 = time.perf_counter()
    await app.start()
    try:
        while any(positions.get(p, 0) < end for p, end in targets.items()):
            await asyncio.sleep(0.05)
    finally:
        t_done = time.perf_counter()
        table_keys = len(table.data)
        await app.stop()
    return {
        "events": seen["count"], "invalid": seen["invalid"], "table_keys": table_keys,
        "startup_s": round((seen["t_first"] or t0) - t0, 3),
        "total_s": round(t_done - t0, 3),
        "events_per_s": _rate(seen["count"], 1, seen["t_first"], seen["t_last"]),
    }
