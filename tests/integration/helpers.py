"""Helpers for tests against the real embedded broker and the real chDB engine."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream_app.jobs.run import Summary, run_file
from stream_app.jobs.stack import kafka_bootstrap
from stream_app.settings import Settings
from stream_app.store.client import connect

# Wall-clock columns: the only ones allowed to differ between equivalent runs.
WALL_CLOCK = {"ingested_at", "received_at", "updated_at", "emitted_at"}
TABLES = ("events", "dead_letters", "dossier_state", "alerts")


def settings_for(store: Path, **kw: Any) -> Settings:
    return Settings(clickhouse=f"chdb://{store}", **kw)


def run(path: Path, store: Path, as_of: datetime | None = None, **kw: Any) -> Summary:
    s = settings_for(store, **kw)
    with kafka_bootstrap(s) as bootstrap:
        return asyncio.run(run_file(s, path, as_of=as_of, bootstrap=bootstrap))


def write_jsonl(path: Path, events: list[dict[str, Any] | str]) -> Path:
    with open(path, "wb") as f:
        for e in events:
            f.write((e if isinstance(e, str) else orjson.dumps(e).decode()).encode() + b"\n")
    return path


def snapshot(store: Path, database: str = "dossier", views: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every contract table's logical rows (FINAL), and the given views when the store has
    them, wall-clock columns left out, sorted."""
    client = connect(f"chdb://{store}")
    try:
        present = {r[0] for r in client.query(
            "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}).result_rows}
        out = {}
        for name in (*TABLES, *views):
            if name not in present:
                continue
            final = " FINAL" if name in TABLES else ""
            q = client.query(f"SELECT * FROM {database}.{name}{final}")
            keep = [i for i, c in enumerate(q.column_names) if c not in WALL_CLOCK]
            rows = [tuple(_plain(r[i]) for i in keep) for r in q.result_rows]
            out[name] = sorted(rows, key=repr)
        return out
    finally:
        client.close()


def query(store: Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    client = connect(f"chdb://{store}")
    try:
        return client.query(sql, parameters=params).result_rows
    finally:
        client.close()


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted(v.items()))
    if isinstance(v, float) and math.isnan(v):
        return "NaN"  # 0/0 in a rate: equal to itself here
    return v


def split_by_time(path: Path, cut: str, tmp: Path) -> tuple[Path, Path]:
    """Split a time-sorted JSONL file at the first line at or after `cut`."""
    cut_at = datetime.fromisoformat(cut)
    lines = path.read_bytes().splitlines(keepends=True)
    idx = len(lines)
    for i, line in enumerate(lines):
        try:
            t = datetime.fromisoformat(orjson.loads(line)["occurred_at"])
        except Exception:
            continue
        if t.tzinfo is not None and t >= cut_at:
            idx = i
            break
    first, second = tmp / "first.jsonl", tmp / "second.jsonl"
    first.write_bytes(b"".join(lines[:idx]))
    second.write_bytes(b"".join(lines[idx:]))
    return first, second


def without_sources(dead_letters: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Dead letters compared by content: file names differ between split and whole runs."""
    return sorted((row[1:] for row in dead_letters), key=repr)


def _e(eid: str, kind: str, at: str, **own: object) -> dict[str, object]:
    return {"event_id": eid, "event_type": kind, "dossier_id": "000.22.31.H53-240104-0001",
            "occurred_at": at, "agency_code": "000.22.31.H53", **own}


# One dossier's life: received, an extension, tax, then concluded much later.
D1_FREE = [
    _e("c1", "received", "2024-01-04T09:00:00+07:00", procedure_code="1.012711"),
    _e("c2", "transferred", "2024-01-05T09:00:00+07:00", to_unit="001.22.31.H53"),
    _e("c3", "extended", "2024-01-15T09:00:00+07:00", new_due_at="2024-01-25T17:00:00+07:00"),
    _e("c4", "sent_to_tax", "2024-01-16T09:00:00+07:00", tax_office="000.53.10.G12"),
    _e("c5", "tax_notice_issued", "2024-01-30T09:00:00+07:00"),
    _e("c6", "obligation_paid", "2024-01-31T09:00:00+07:00", channel="online"),
    _e("c7", "concluded", "2024-02-05T09:00:00+07:00", outcome="approved"),
]


async def committed_at_least(bootstrap: str, s: Settings, n: int, *, timeout_s: float) -> None:
    """Wait until the worker's group has committed n events in all (not joining the group)."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=s.app_id, enable_auto_commit=False)
    await c.start()
    try:
        tps = [TopicPartition(s.events_topic, p) for p in range(s.partitions)]
        deadline = asyncio.get_running_loop().time() + timeout_s
        while sum([await c.committed(tp) or 0 for tp in tps]) < n:
            assert asyncio.get_running_loop().time() < deadline, "the worker did not consume its backlog"
            await asyncio.sleep(0.2)
    finally:
        await c.stop()


def assigned(stack: Any) -> set[int]:
    """The events partitions a running worker's consumer holds."""
    return {tp.partition for tp in stack.app.consumer.assignment() if tp.topic == stack.settings.events_topic}


async def eventually(predicate: Any, timeout: float = 30.0, every_s: float = 0.05) -> None:
    """Await until the predicate holds, with the jobs' own run-until primitive."""
    from stream_app.jobs.until import until as run_until

    try:
        await run_until(predicate, every_s=every_s, timeout_s=timeout)
    except TimeoutError:
        raise AssertionError("condition not met in time") from None


def until(predicate: Any, timeout: float = 90.0) -> None:
    """The same from a thread that waits on workers running elsewhere."""
    asyncio.run(eventually(predicate, timeout, every_s=0.2))


def recorded_stacks(monkeypatch: Any) -> list[Any]:
    """Every `Stack` built from now on, to look inside workers started elsewhere."""
    from stream_app.jobs import replay, run, worker
    from stream_app.jobs import stack as stack_module

    stacks: list[Any] = []

    class Recorded(stack_module.Stack):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            stacks.append(self)

    for module in (worker, run, replay):
        monkeypatch.setattr(module, "Stack", Recorded)
    return stacks
