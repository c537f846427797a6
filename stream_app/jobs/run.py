"""`dossier-stream run`: one file through the broker and the worker, then a summary.

The stack starts, then the file is fed into the events topic from a thread
(`kafka.feed`) while the worker consumes it: each record's file line is written
down before the record is sent, so a dead letter always names it. The job waits
until every fed record is processed — counted, never inferred from the broker's
end offsets — and fires every timer up to `--as-of` (default: the latest
`occurred_at` in the file). With `--workers N` the same is done by N worker
processes (`jobs.fleet`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from stream_app.core.pipeline import AlertCallback
from stream_app.jobs.stack import Stack
from stream_app.jobs.until import until
from stream_app.kafka.admin import while_broker_answers
from stream_app.kafka.feed import send_feed
from stream_app.kafka.labels import MemoryLabels
from stream_app.kafka.producer import Produced
from stream_app.kafka.security import client_config
from stream_app.replay.feed import FileFeed
from stream_app.settings import Settings

Progress = Callable[[str, int, int | None], None]
RUN_SESSION_S, RUN_HEARTBEAT_S = 2.0, 0.6


@dataclass
class Summary:
    records: int = 0
    elapsed_s: float = 0.0
    restored: int = 0
    as_of: datetime | None = None
    stats: dict[str, int] = field(default_factory=dict)
    processing_s: float | None = None  # from the first processed record to the last

    @property
    def rate(self) -> float:
        return self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def dead_letters(self) -> dict[str, int]:
        """Dead letters by code, most first."""
        found = {k.split(".", 1)[1]: v for k, v in self.stats.items() if k.startswith("dead_letter.") and v}
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def mostly_rejected(self) -> bool:
        """Were most records dead letters? (a file in the wrong format, binary garbage)"""
        return self.records > 0 and sum(self.dead_letters.values()) * 2 > self.records

    def over(self, limit: str | None) -> bool:
        """More dead letters than `limit` allows (a count, or a share such as `5%`)?"""
        if limit is None:
            return False
        count, share = parse_limit(limit)
        dead = sum(self.dead_letters.values())
        return dead > count if share is None else dead > share * self.records


def parse_limit(text: str) -> tuple[int, float | None]:
    """`100` -> (100, None); `5%` -> (0, 0.05)."""
    t = text.strip()
    try:
        if t.endswith("%"):
            share = float(t[:-1]) / 100
            if not 0 <= share <= 1:
                raise ValueError
            return 0, share
        count = int(t)
        if count < 0:
            raise ValueError
        return count, None
    except ValueError:
        raise ValueError(f"--max-dead-letters takes a count (100) or a share of the lines (5%), got {text!r}") from None


async def run_file(
    settings: Settings,
    path: Path,
    *,
    as_of: datetime | None = None,
    bootstrap: str,
    progress: Progress | None = None,
    on_alert: AlertCallback | None = None,
) -> Summary:
    """Replay one file through the broker and the worker; return when all is flushed."""
    t0 = time.perf_counter()
    settings = quick_join(settings)
    labels = MemoryLabels()
    stack = Stack(settings, bootstrap, on_alert=on_alert, labels=labels)
    summary = Summary(restored=stack.processor.stats["restored"])
    loop = asyncio.get_running_loop()
    feed = FileFeed(path)
    # The feed starts now, while the consumer joins its group (seconds on any broker).
    sending = loop.run_in_executor(None, lambda: send_feed(
        feed.items(), name=feed.name, bootstrap=bootstrap, topic=settings.events_topic,
        partitions=settings.partitions, client_config=client_config(settings), labels=labels,
        on_progress=(lambda n: progress("produce", n, None)) if progress else None,
    ))
    try:
        await stack.start()
        total: list[int] = []
        first: list[float] = []

        def report() -> None:
            if stack.pipeline.processed and not first:
                first.append(time.perf_counter())
            if progress:
                progress("process", stack.pipeline.processed, total[0] if total else None)

        async def consume() -> None:
            await until(sending.done, pipeline=stack.pipeline, on_poll=report)
            produced: Produced = sending.result()
            total.append(produced.count)
            summary.records = produced.count
            if produced.rejected:  # lines too large to be Kafka records: dead letters, not a crash
                await stack.pipeline.add_dead_letters(produced.rejected)
            ends = {p: last + 1 for p, last in produced.last_offsets.items()}
            await until(lambda: stack.pipeline.reached(ends), pipeline=stack.pipeline, on_poll=report)
            summary.processing_s = time.perf_counter() - first[0] if first else 0.0
            summary.as_of = as_of or produced.max_occurred_at
            if summary.as_of is not None:
                await stack.pipeline.finish(summary.as_of)

        await while_broker_answers(consume(), bootstrap, give_up_s=settings.broker_give_up_s)
    finally:
        await stack.stop()
    summary.elapsed_s = time.perf_counter() - t0
    summary.stats = dict(stack.processor.stats)
    return summary


def quick_join(settings: Settings) -> Settings:
    """A run is the consumer group's only member: a short session makes joining it quick
    (the embedded broker holds a JoinGroup for half the session timeout, docs/platform.md),
    unless the session timeout was set on purpose."""
    if {"session_timeout_s", "heartbeat_interval_s"} & settings.model_fields_set:
        return settings
    return settings.model_copy(update={"session_timeout_s": RUN_SESSION_S, "heartbeat_interval_s": RUN_HEARTBEAT_S})

