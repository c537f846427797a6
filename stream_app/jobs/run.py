"""`dossier-stream run`: one file through the broker and the worker, then a summary.

The file is produced first (the worker must know each record's file line before
it reports a dead letter, and producing is quick next to consuming), then the
stack starts and the job waits until every produced record is processed —
counted, never inferred from the broker's end offsets — and fires every timer up
to `--as-of` (default: the latest `occurred_at` in the file).
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
from stream_app.kafka.producer import Produced, produce
from stream_app.kafka.security import client_config
from stream_app.replay.feed import FileFeed
from stream_app.settings import Settings

Progress = Callable[[str, int, int | None], None]


@dataclass
class Summary:
    records: int = 0
    elapsed_s: float = 0.0
    restored: int = 0
    as_of: datetime | None = None
    stats: dict[str, int] = field(default_factory=dict)

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
    labels: dict[tuple[int, int], str] = {}
    stack = Stack(settings, bootstrap, on_alert=on_alert, labels=labels)
    summary = Summary(restored=stack.processor.stats["restored"])
    loop = asyncio.get_running_loop()
    try:
        feed = FileFeed(path)
        produced: Produced = await loop.run_in_executor(None, lambda: produce(
            feed.items(), name=feed.name, bootstrap=bootstrap, topic=settings.events_topic,
            client_config=client_config(settings),
            on_progress=(lambda n: progress("produce", n, None)) if progress else None,
        ))
        labels.update(produced.labels)
        for dead in produced.rejected:  # lines too large to be Kafka records: dead letters, not a crash
            stack.processor.add_dead_letter(dead)
        await stack.start()
        if produced.rejected:
            await stack.pipeline.handle([])  # written and published now, whatever else the file holds

        def report() -> None:
            if progress:
                progress("process", stack.pipeline.processed, produced.count)

        async def consume() -> None:
            ends = {p: last + 1 for p, last in produced.last_offsets.items()}
            await until(lambda: stack.pipeline.reached(ends), pipeline=stack.pipeline, on_poll=report)
            summary.as_of = as_of or produced.max_occurred_at
            if summary.as_of is not None:
                await stack.pipeline.finish(summary.as_of)

        await while_broker_answers(consume(), bootstrap, give_up_s=settings.broker_give_up_s)
        summary.records = produced.count
    finally:
        await stack.stop()
    summary.elapsed_s = time.perf_counter() - t0
    summary.stats = dict(stack.processor.stats)
    return summary


