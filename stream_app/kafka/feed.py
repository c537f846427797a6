"""A fast feed: a file's records into the events topic in whole batches, beside the processing.

`send_feed` produces every item of a feed from its own thread and event loop, so a run's
processing starts at once and the two overlap. Each record goes to the partition Kafka's
default partitioner would choose for its dossier, but chosen here (`partition_of`), and
its offset is counted here from the partition's true end when the feed starts
(`true_ends`), so its label (`file:line`) is written down (`kafka.labels`) before the
record is sent: a worker that meets a dead letter always knows where it came from.
Records are appended to one aiokafka batch per partition and a full batch is sent whole
(`send_batch`): no future per record, which is what made producing a third of a `run`.
The broker's answer for each batch is checked against the counted offsets.

A record too large to be a Kafka record is not sent (`producer.too_large`): it comes back
in `Produced.rejected` as its dead letter.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterable

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from stream_app.kafka.labels import LabelSink
from stream_app.kafka.producer import Item, Produced, max_record_bytes, partition_of

log = structlog.get_logger(__name__)

BATCH_BYTES = 1 << 20  # one batch per partition in flight, up to the broker's request limit


class OffsetMoved(RuntimeError):
    """Someone else wrote to the topic while the feed ran: the counted offsets are wrong."""


def send_feed(items: Iterable[Item], *, name: str, bootstrap: str, topic: str, partitions: int,
              client_config: dict[str, Any] | None = None, labels: LabelSink | None = None,
              starts: dict[int, int] | None = None,
              on_progress: Callable[[int], None] | None = None) -> Produced:
    """Send every item (blocking: run it in a thread); `count` includes the rejected ones.
    `starts`: each partition's true end now, when the caller has read it (`true_ends`)."""
    return asyncio.run(_send(items, name=name, bootstrap=bootstrap, topic=topic, partitions=partitions,
                             client_config=client_config or {}, labels=labels, starts=starts,
                             on_progress=on_progress))


async def true_ends(bootstrap: str, topic: str, partitions: int, config: dict[str, Any]) -> dict[int, int]:
    """Each partition's real end offset. The embedded broker's ListOffsets answers the last
    batch's base offset + 1 (docs/platform.md), so a non-empty partition is read from just
    before that point: the fetch's highwater is the true end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **config)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        listed = {tp: int(off) for tp, off in (await consumer.end_offsets(tps)).items()}
        used = [tp for tp in tps if listed[tp] > 0]  # 0 only when empty
        ends = {tp.partition: 0 for tp in tps}
        if used:
            consumer.assign(used)
            for tp in used:
                consumer.seek(tp, listed[tp] - 1)
            missing = set(used)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while missing and loop.time() < deadline:
                await consumer.getmany(*missing, timeout_ms=1000, max_records=1)
                for tp in list(missing):
                    if consumer.highwater(tp) is not None and consumer.highwater(tp) >= listed[tp]:
                        ends[tp.partition] = consumer.highwater(tp)
                        missing.discard(tp)
            if missing:
                raise TimeoutError(f"could not read the end of {topic}: no fetch answered in 30 s")
        return ends
    finally:
        await consumer.stop()


async def _send(items: Iterable[Item], *, name: str, bootstrap: str, topic: str, partitions: int,
                client_config: dict[str, Any], labels: LabelSink | None, starts: dict[int, int] | None,
                on_progress: Callable[[int], None] | None) -> Produced:
    limit = max_record_bytes(client_config)
    result = Produced()
    next_offset = dict(starts) if starts is not None else await true_ends(bootstrap, topic, partitions,
                                                                          client_config)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=BATCH_BYTES,
                                max_request_size=1 << 20, **client_config)
    await producer.start()
    batches: dict[int, Any] = {}
    first: dict[int, int] = {}  # the counted offset of each open batch's first record
    sent: list[tuple[int, int, asyncio.Future[Any]]] = []  # (partition, counted base offset, answer)

    async def ship(p: int) -> None:
        batch = batches.pop(p)
        if labels is not None:
            labels.flush()
        sent.append((p, first.pop(p), await producer.send_batch(batch, topic, partition=p)))

    try:
        for item in items:
            if not result.admit(item, limit):
                continue
            p = partition_of(item.key, partitions)
            offset = next_offset.get(p, 0)
            if labels is not None:
                labels.put(p, offset, item.label)  # before the record exists anywhere
            batch = batches.get(p)
            if batch is None:
                batch = batches[p] = producer.create_batch()
                first[p] = offset
            if batch.append(key=item.key, value=item.raw, timestamp=None) is None:
                await ship(p)
                batch = batches[p] = producer.create_batch()
                first[p] = offset
                batch.append(key=item.key, value=item.raw, timestamp=None)
            next_offset[p] = offset + 1
            result.last_offsets[p] = offset
            if on_progress is not None and result.count % 5000 == 0:
                on_progress(result.count)
                await asyncio.sleep(0)
        for p in list(batches):
            await ship(p)
        for p, counted, answer in sent:
            metadata = await answer
            if metadata.offset != counted:
                raise OffsetMoved(f"partition {p}: a batch landed at offset {metadata.offset}, not {counted}: "
                                  f"another producer wrote to {topic} during the feed")
    finally:
        await producer.stop()
    if on_progress is not None:
        on_progress(result.count)
    log.info("replay.produced", file=name, records=result.count, partitions=len(result.last_offsets),
             too_large=len(result.rejected))
    return result
