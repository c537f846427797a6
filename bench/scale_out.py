"""Scale out: the same backlog consumed by one worker, then by two sharing the partitions.

Each run streams the events file into a fresh topic prefix (a backlog), starts N live
workers (`run_worker`) in one consumer group on a fresh chDB store, and times from the
first worker's start to the group having committed every record. The workers run as
threads of this process: chDB opens one store per process, so on the embedded engine
they share one interpreter (and its GIL); in production each worker is its own process
against the ClickHouse server, which this machine cannot run (Debian's is from 2018 and
PyPI ships none). The figure is therefore the cost of sharing partitions, not a
parallel speed-up. Run it through `bench.proc.isolated`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


def measure_scale_out(bootstrap: str, events_file: str, work: str, *, partitions: int = 4,
                      counts: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    from kafka import KafkaProducer

    from stream_app.settings import Settings

    lines = Path(events_file).read_bytes().splitlines()
    out: dict[str, Any] = {"events": len(lines), "in_one_process": True}
    for n in counts:
        settings = Settings(clickhouse=f"chdb://{work}/store-{n}", topic_prefix=f"bench.scale{n}.",
                            app_id=f"bench-scale-{n}", partitions=partitions)
        from stream_app.kafka.admin import ensure_topics

        ensure_topics(bootstrap, settings)
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
        for line in lines:
            producer.send(settings.events_topic, key=_key(line), value=line)
        producer.flush()
        producer.close()
        out[f"workers_{n}"] = _consume(settings, bootstrap, n, len(lines))
    one, two = out.get("workers_1", {}).get("seconds"), out.get("workers_2", {}).get("seconds")
    out["speed_up"] = round(one / two, 2) if one and two else None
    return out


def _key(line: bytes) -> bytes | None:
    import orjson

    try:
        return str(orjson.loads(line)["dossier_id"]).encode()
    except Exception:  # a malformed line: no key, like any producer would send it
        return None


def _consume(settings: Any, bootstrap: str, n: int, total: int) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from stream_app.jobs.worker import run_worker

    clock = datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=7)))  # before every event: no wall-clock timers
    loops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def main() -> None:
        async def go() -> None:
            stop = asyncio.Event()
            loops.append((asyncio.get_running_loop(), stop))
            await run_worker(settings, bootstrap=bootstrap, stop=stop, now=lambda: clock)

        asyncio.run(go())

    async def committed() -> int:
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=settings.app_id, enable_auto_commit=False)
        await c.start()
        try:
            return sum([await c.committed(TopicPartition(settings.events_topic, p)) or 0
                        for p in range(settings.partitions)])
        finally:
            await c.stop()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=main, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    done = 0
    while done < total and time.perf_counter() - t0 < 600:
        time.sleep(0.5)
        done = asyncio.run(committed())
    seconds = time.perf_counter() - t0
    for loop, stop in loops:
        loop.call_soon_threadsafe(stop.set)
    for t in threads:
        t.join(timeout=60)
    return {"workers": n, "seconds": round(seconds, 2), "committed": done,
            "events_per_s": round(done / seconds) if seconds else None}
