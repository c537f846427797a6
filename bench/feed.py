"""The feed: a file into the events topic by `run`'s feed, against a bare aiokafka producer.

Both send the same lines, keyed by dossier, into fresh topics of the same broker in the
same run: `kafka.feed.send_feed` (whole batches per partition, offsets counted from the
true ends, a label per record) and aiokafka's `send()` per record with batching
(`linger_ms` 20, 256 KiB batches, acks=all), the best a plain producer does. The rate is
records over the whole send, connection included. Run it through `bench.proc.isolated`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any


def measure_feed(bootstrap: str, events_file: str, *, partitions: int = 4) -> dict[str, Any]:
    from kafka.admin import KafkaAdminClient, NewTopic

    from stream_app.kafka.feed import send_feed, true_ends
    from stream_app.kafka.labels import MemoryLabels
    from stream_app.replay.feed import FileFeed

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-feed")
    try:
        admin.create_topics([NewTopic("bench.feed.ours", partitions, 1), NewTopic("bench.feed.bare", partitions, 1)])
    finally:
        admin.close()
    feed = FileFeed(Path(events_file))
    t0 = time.perf_counter()
    starts = asyncio.run(true_ends(bootstrap, "bench.feed.ours", partitions, {}))
    sent = send_feed(feed.items(), name=feed.name, bootstrap=bootstrap, topic="bench.feed.ours",
                     partitions=partitions, labels=MemoryLabels(), starts=starts)
    ours = time.perf_counter() - t0
    lines = Path(events_file).read_bytes().splitlines()
    t1 = time.perf_counter()
    asyncio.run(_bare(bootstrap, "bench.feed.bare", lines))
    bare = time.perf_counter() - t1
    return {
        "events": sent.count,
        "feed_s": round(ours, 3), "feed_events_per_s": round(sent.count / ours),
        "bare_aiokafka_s": round(bare, 3), "bare_aiokafka_events_per_s": round(len(lines) / bare),
        "feed_over_bare": round(bare / ours, 2),
    }


async def _bare(bootstrap: str, topic: str, lines: list[bytes]) -> None:
    import orjson
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    try:
        futures = []
        for line in lines:
            try:
                key = str(orjson.loads(line)["dossier_id"]).encode()
            except Exception:  # a malformed line: no key, as any producer would send it
                key = None
            futures.append(await producer.send(topic, value=line, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
