"""Scale out (issue 6): two workers sharing the partitions give the tables and alerts of one.

A replay of a synthetic province through `run` (one worker) against the same file
produced once and consumed by two live workers in one consumer group, each holding
half of the partitions, their clocks pinned at the replay's `--as-of`. Both workers
run in this process (the test looks inside them), on one embedded store opened through
its path, or served (`dossier-stream store`'s engine) and written over HTTP as separate
worker processes and a ClickHouse server would be. The dead letters name their source differently (`file:line` for a
replay, `topic/partition/offset` for a worker), so they are compared without it.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer
from pydantic import SecretStr

from stream_app.jobs.worker import run_worker
from stream_app.kafka.admin import ensure_topics
from stream_app.kafka.broker import EmbeddedBroker
from stream_app.replay.generate import generate
from stream_app.schemas.parse import DeadLetter, parse_line
from stream_app.store.served import ServedStore
from tests.integration.helpers import (
    assigned,
    committed_at_least,
    recorded_stacks,
    run,
    settings_for,
    snapshot,
    until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("store", ["embedded", "served"])
def test_two_workers_sharing_the_partitions_give_the_tables_of_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  store: str):
    path = tmp_path / "province.jsonl"
    generate(path, months=2, seed=5, dossiers_per_month=120)
    lines = path.read_bytes().splitlines()
    times = [t for t in map(_occurred, lines) if t is not None]
    as_of = max(times) + timedelta(days=2)

    run(path, tmp_path / "one", as_of=as_of)
    one = snapshot(tmp_path / "one")

    stacks = recorded_stacks(monkeypatch)
    with EmbeddedBroker() as broker, ExitStack() as served:
        s = settings_for(tmp_path / "two")
        if store == "served":  # as `dossier-stream store` serves it: the workers write over HTTP
            s = s.model_copy(update={"clickhouse": SecretStr(served.enter_context(ServedStore(tmp_path / "two")).dsn)})
        ensure_topics(broker.bootstrap, s)
        # The wall clock stands before the province's first event while it streams in
        # (as it would live), then jumps to the replay's --as-of.
        workers = [_Worker(s, broker.bootstrap, min(times) - timedelta(days=1)) for _ in range(2)]
        for w in workers:
            w.start()
        until(lambda: len(stacks) == 2 and all(assigned(st) for st in stacks)
               and set.union(*map(assigned, stacks)) == set(range(s.partitions))
               and not set.intersection(*map(assigned, stacks)))
        _produce(broker.bootstrap, s.events_topic, lines)
        asyncio.run(committed_at_least(broker.bootstrap, s, len(lines), timeout_s=120))
        for w in workers:
            w.now = as_of
        until(lambda: all(st.processor.low_watermark(assigned(st)) == as_of for st in stacks))
        assert all(st.pipeline.processed > 0 for st in stacks)  # both did a share of the work
        for w in workers:
            w.stop()
    two = snapshot(tmp_path / "two")

    for table in ("events", "dossier_state", "alerts"):
        assert two[table] == one[table], (table, _first_difference(one[table], two[table]))
    assert _without_source(two["dead_letters"]) == _without_source(one["dead_letters"])
    assert one["alerts"] and one["dead_letters"]


def _first_difference(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> Any:
    for x, y in zip(a, b):
        if x != y:
            return [(i, u, v) for i, (u, v) in enumerate(zip(x, y)) if u != v], x[0]
    return len(a), len(b)


def _occurred(line: bytes) -> datetime | None:
    event = parse_line(line, source="")
    return None if isinstance(event, DeadLetter) else event.occurred_at


def _without_source(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((r[1:] for r in rows), key=repr)  # (source, raw, error_code, error_detail) without received_at


def _produce(bootstrap: str, topic: str, lines: list[bytes]) -> None:
    p = KafkaProducer(bootstrap_servers=bootstrap)
    for line in lines:
        try:
            key = orjson.loads(line)["dossier_id"].encode()
        except Exception:
            key = None
        p.send(topic, key=key, value=line)
    p.flush()
    p.close()


class _Worker:
    """`run_worker` in a thread with its own event loop, on a clock the test sets."""

    def __init__(self, settings: Any, bootstrap: str, now: datetime) -> None:
        self.settings, self.bootstrap, self.now = settings, bootstrap, now
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def go() -> None:
            self.loop, self.stopping = asyncio.get_running_loop(), asyncio.Event()
            await run_worker(self.settings, bootstrap=self.bootstrap, stop=self.stopping, now=lambda: self.now)

        asyncio.run(go())

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.loop is not None and self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(timeout=60)
