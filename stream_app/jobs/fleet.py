"""`dossier-stream run --workers N`: one file through N worker processes sharing the partitions.

The run serves an embedded store to its workers (`store.served`; a ClickHouse server
serves itself), migrates it and creates the topics once, then starts N worker processes
(`jobs.replica`) in one consumer group. When the group has given every partition to one
of them, the file is fed (`kafka.feed`, each record's file line written down first in a
folder the workers read) and the run watches what they report: which partitions each
owns and how far it has processed them. When every partition is held by a live worker
that has processed it to the feed's end, each worker fires the timers of its partitions
up to `--as-of`, and the run sums what they counted.

A worker process killed on the way (kill -9, out of memory) is not an error: the group
gives its partitions to the others after the session timeout
(`DOSSIER_SESSION_TIMEOUT_S`), they restore those partitions' dossiers from the store and
re-read what it had not acknowledged, and the tables come out as in a clean run. A worker
that fails (a processing error, its broker gone) stops the run with its exit code. No
worker process and no served store outlives the run, however it ends.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import structlog
from pydantic import SecretStr

from stream_app.jobs.replica import dead_letter_json
from stream_app.jobs.run import Progress, Summary
from stream_app.jobs.until import until
from stream_app.kafka.admin import ensure_topics, while_broker_answers
from stream_app.kafka.feed import send_feed, true_ends
from stream_app.kafka.labels import LabelFiles
from stream_app.kafka.producer import Produced
from stream_app.kafka.security import client_config
from stream_app.process import die_with_parent
from stream_app.replay.feed import FileFeed
from stream_app.settings import Settings
from stream_app.store.client import connect
from stream_app.store.migrate import migrate
from stream_app.store.restore import Restorer
from stream_app.store.served import ServedStore

log = structlog.get_logger(__name__)

POLL_S = 0.1


class WorkerProcessFailed(RuntimeError):
    """A worker process stopped by itself with an error (its message is in the log)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class WorkerProcess:
    index: int
    proc: asyncio.subprocess.Process
    ready: bool = False
    owned: list[int] = field(default_factory=list)
    positions: dict[int, int] = field(default_factory=dict)  # only partitions it has fully taken over
    processed: int = 0
    done: dict[str, int] | None = None
    reader: asyncio.Task[None] | None = None
    mourned: bool = False  # its loss is logged

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            msg = orjson.loads(line)
            if msg.get("ready"):
                self.ready = True
            elif "owned" in msg:
                self.owned = msg["owned"]
                self.positions = {int(p): n for p, n in msg["positions"].items()}
                self.processed = msg["processed"]
            elif msg.get("done"):
                self.done = msg["stats"]

    def tell(self, **order: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(orjson.dumps(order) + b"\n")


def worker_settings(settings: Settings, dsn: str) -> dict[str, Any]:
    """The settings a worker process runs with, secrets included (they travel on a pipe):
    the run's own, on the served store, without the live page or the sync records."""
    values = settings.model_dump(mode="json")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values[name] = value.get_secret_value()
    values.update(clickhouse=dsn, web_enabled=False, sync_enabled=False, workers=1)
    return values


async def run_fleet(settings: Settings, path: Path, *, workers: int, as_of: datetime | None = None,
                    bootstrap: str, progress: Progress | None = None) -> Summary:
    """Replay one file through `workers` worker processes; return when all is flushed."""
    t0 = time.perf_counter()
    summary = Summary()
    with ExitStack() as held:
        dsn = settings.clickhouse.get_secret_value()
        if dsn.startswith("chdb://"):
            dsn = held.enter_context(ServedStore(Path(dsn[len("chdb://"):]))).dsn
        client = connect(dsn)
        try:
            migrate(client, settings.database)
            summary.restored = len(Restorer(client, settings.database).active_ids())
        finally:
            client.close()
        ensure_topics(bootstrap, settings)
        folder = Path(held.enter_context(tempfile.TemporaryDirectory(prefix="dossier-labels-")))
        fleet = Fleet(settings, bootstrap, folder, dsn)
        try:
            await while_broker_answers(fleet.run(path, workers, as_of, summary, progress), bootstrap,
                                       give_up_s=settings.broker_give_up_s)
        finally:
            await fleet.stop()
    summary.elapsed_s = time.perf_counter() - t0
    return summary


class Fleet:
    def __init__(self, settings: Settings, bootstrap: str, folder: Path, dsn: str) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.folder = folder
        self.dsn = dsn
        self.members: list[WorkerProcess] = []

    async def start(self, workers: int) -> None:
        payload = worker_settings(self.settings, self.dsn)
        for index in range(1, workers + 1):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "stream_app.jobs.replica", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, preexec_fn=die_with_parent, start_new_session=True)
            member = WorkerProcess(index, proc)
            member.tell(settings=payload, bootstrap=self.bootstrap, labels=str(self.folder), index=index)
            member.reader = asyncio.ensure_future(member.read())
            self.members.append(member)
        log.info("fleet.started", workers=workers, pids=[m.proc.pid for m in self.members])

    def check(self) -> list[WorkerProcess]:
        """The live members; a member that stopped by itself with an error stops the run."""
        alive = []
        for m in self.members:
            code = m.proc.returncode
            if code is None:
                alive.append(m)
            elif code > 0 and m.done is None:
                raise WorkerProcessFailed(f"worker process {m.index} stopped with exit code {code}", code)
            elif code < 0 and m.done is None and not m.mourned:
                m.mourned = True
                log.warning("fleet.worker_lost", worker_process=m.index, signal=-code,
                            hint="its partitions go to the others after the session timeout")
        if not alive:
            raise WorkerProcessFailed("every worker process stopped", 1)
        return alive

    def holders(self) -> dict[int, WorkerProcess]:
        """Partition -> the live member that owns it and has taken it over."""
        out = {}
        for m in self.check():
            for p in m.positions:
                out[p] = m
        return out

    async def wait(self, condition: Any, *, what: str, timeout_s: float | None = None, on_poll: Any = None) -> None:
        try:
            await until(condition, every_s=POLL_S, timeout_s=timeout_s, on_poll=on_poll)
        except TimeoutError as exc:
            raise TimeoutError(f"{what}: {exc}") from None

    async def run(self, path: Path, workers: int, as_of: datetime | None, summary: Summary,
                  progress: Progress | None) -> None:
        settings, n = self.settings, self.settings.partitions
        await self.start(workers)
        every = set(range(n))

        def assigned() -> bool:
            alive = self.check()
            owned = [set(m.owned) for m in alive]
            spread = all(owned) or workers > n  # each holds a share (more workers than partitions: some idle)
            return (all(m.ready for m in alive) and spread and set().union(*owned) == every
                    and sum(map(len, owned)) == n)

        await self.wait(assigned, what="the worker processes joining their group",
                        timeout_s=60 + 10 * settings.session_timeout_s)
        log.info("fleet.assigned", partitions={m.index: m.owned for m in self.members})
        starts = await true_ends(self.bootstrap, settings.events_topic, n, client_config(settings))
        labels = LabelFiles(self.folder)
        feed = FileFeed(path)
        loop = asyncio.get_running_loop()
        sending = loop.run_in_executor(None, lambda: send_feed(
            feed.items(), name=feed.name, bootstrap=self.bootstrap, topic=settings.events_topic, partitions=n,
            client_config=client_config(settings), labels=labels, starts=starts,
            on_progress=(lambda k: progress("produce", k, None)) if progress else None))
        reached: dict[int, int] = {}  # the furthest any member processed each partition
        total: list[int] = []
        first: list[float] = []

        def look() -> None:
            for m in self.members:
                for p, pos in m.positions.items():
                    reached[p] = max(reached.get(p, 0), pos)
            done = sum(max(0, reached.get(p, 0) - starts.get(p, 0)) for p in range(n))
            if done and not first:
                first.append(time.perf_counter())
            if progress:
                progress("process", done, total[0] if total else None)

        try:
            await self.wait(sending.done, what="the feed", on_poll=lambda: (self.check(), look()))
            produced: Produced = sending.result()
        finally:
            labels.close()
        total.append(produced.count)
        summary.records = produced.count
        ends = {p: produced.last_offsets[p] + 1 if p in produced.last_offsets else starts.get(p, 0)
                for p in range(n)}

        def finished_reading() -> bool:
            held = self.holders()
            return all(p in held and (held[p].positions[p] >= ends[p] or ends[p] <= starts.get(p, 0))
                       for p in range(n))

        await self.wait(finished_reading, what="processing", on_poll=look)
        summary.processing_s = time.perf_counter() - first[0] if first else 0.0
        summary.as_of = as_of or produced.max_occurred_at
        alive = self.check()
        leader = min(alive, key=lambda m: (0 not in m.owned, m.index))
        for m in alive:
            m.tell(finish=summary.as_of.isoformat() if summary.as_of else None,
                   dead_letters=[dead_letter_json(d) for d in produced.rejected] if m is leader else [])
        await self.wait(lambda: all(m.done is not None for m in self.check()), what="the timers up to --as-of")
        stats: Counter[str] = Counter()
        for m in self.members:
            stats.update(m.done or {})
        stats["restored"] = summary.restored
        stats["records"] = produced.count
        summary.stats = dict(stats)

    async def stop(self) -> None:
        """Every member ends: at once after its `done`, else asked (SIGTERM), else killed."""
        for m in self.members:
            if m.alive and m.proc.stdin is not None:
                m.proc.stdin.close()  # the end of its orders
        deadline = time.monotonic() + self.settings.stop_timeout_s
        for m in self.members:
            try:
                await asyncio.wait_for(m.proc.wait(), timeout=max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                m.proc.terminate()
                try:
                    await asyncio.wait_for(m.proc.wait(), timeout=5)
                except asyncio.TimeoutError:
                    m.proc.kill()
                    await m.proc.wait()
            if m.reader is not None:
                m.reader.cancel()
        if self.members:
            log.info("fleet.stopped", exits={m.index: m.proc.returncode for m in self.members})
