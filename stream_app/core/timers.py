"""Event time, one clock per partition, and the timers that wait on it.

A dossier's events all live in one Kafka partition, in order, so time is kept
per partition: its *stream time* is the latest `occurred_at` seen there, its
*watermark* the stream time minus the allowed lateness (or a time pushed from
outside: the wall clock of a caught-up live worker, `--as-of` at the end of a
replay). A watermark never moves back. Each partition has a heap of timers
(when, dossier): a dossier's timer is due once its partition's watermark has
reached it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Iterator


@dataclass
class PartitionTime:
    stream_time: datetime | None = None
    watermark: datetime | None = None
    timers: list[tuple[datetime, int, str]] = field(default_factory=list)


class EventTime:
    def __init__(self, partitions: int, lateness: timedelta) -> None:
        self.lateness = lateness
        self.parts = {p: PartitionTime() for p in range(partitions)}
        self._seq = 0  # ties between timers of one instant go by scheduling order

    def partition(self, p: int) -> PartitionTime:
        """The partition's clock (one beyond the configured count is made on first use:
        a batch of dead letters may come from anywhere)."""
        part = self.parts.get(p)
        if part is None:
            part = self.parts[p] = PartitionTime()
        return part

    def observe(self, p: int, occurred_at: datetime) -> None:
        """An event of partition `p` moves its stream time, and so its watermark."""
        part = self.partition(p)
        if part.stream_time is None or occurred_at > part.stream_time:
            part.stream_time = occurred_at
            mark = occurred_at - self.lateness
            if part.watermark is None or mark > part.watermark:
                part.watermark = mark

    def is_late(self, p: int, occurred_at: datetime) -> bool:
        """At the watermark itself the window has closed: timers up to it have fired."""
        mark = self.partition(p).watermark
        return mark is not None and occurred_at <= mark

    def reset(self, p: int) -> None:
        """Partition `p` starts again: no stream time, no watermark, no timers."""
        self.parts[p] = PartitionTime()

    def push(self, p: int, at: datetime) -> None:
        """Move partition `p`'s watermark forward to `at` (never back)."""
        part = self.partition(p)
        if part.watermark is None or at > part.watermark:
            part.watermark = at

    def schedule(self, p: int, at: datetime, dossier_id: str) -> None:
        self._seq += 1
        heapq.heappush(self.partition(p).timers, (at, self._seq, dossier_id))

    def has_due(self, p: int) -> bool:
        """Has partition `p`'s watermark reached its earliest timer? (a heap peek)"""
        part = self.parts.get(p)
        return part is not None and part.watermark is not None and bool(part.timers) \
            and part.timers[0][0] <= part.watermark

    def due(self, p: int) -> Iterator[str]:
        """Pop the dossiers whose timer the partition's watermark has reached, earliest
        first (a timer scheduled meanwhile at or before the watermark comes out too)."""
        part = self.partition(p)
        timers = part.timers
        while part.watermark is not None and timers and timers[0][0] <= part.watermark:
            yield heapq.heappop(timers)[2]

    def low_watermark(self, partitions: Iterable[int] | None = None) -> datetime | None:
        """The oldest watermark of the partitions (all, or the given ones) — every timer
        before it has fired — or None until each of them has one: the oldest of the
        others is no bound on a partition that has delivered nothing yet."""
        chosen = self.parts if partitions is None else partitions
        marks = [self.parts[p].watermark if p in self.parts else None for p in chosen]
        if not marks or any(m is None for m in marks):
            return None
        return min(marks)  # type: ignore[type-var]
