"""The pace of a replay: the original gaps between events, compressed N times.

`Pacer.wait(occurred_at)` returns when the event is due to be sent: event i
leaves at `start + (occurred_at_i - occurred_at_first) / speed` on the
injected monotonic clock, so the whole replay of a span S takes about S / N
whatever the cost of sending (time spent sending is not added to the gaps).
An event older than one already sent (a late event in a time-sorted export),
or a line without a readable time, goes out at once. Speed `None` is "as fast
as possible": `wait` never sleeps. The clock and the sleep are injected, so
tests drive time without sleeping, and a replay can be stopped in the middle
of a long wait (pass a `threading.Event().wait` as the sleep).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable

MAX = "max"


def parse_speed(text: str) -> float | None:
    """`max` (None: no pacing) or a positive compression factor such as 3600."""
    if text.strip().lower() == MAX:
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = 0.0
    if not speed > 0 or speed == float("inf"):
        raise ValueError(f"speed must be `max` or a positive number (3600 = an hour per second), got {text!r}")
    return speed


class Pacer:
    def __init__(
        self,
        speed: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.speed = speed
        self.clock = clock
        self.sleep = sleep
        self._origin: tuple[float, datetime] | None = None  # (clock, event time) of the first paced event
        self._latest: datetime | None = None

    def due(self, occurred_at: datetime | None) -> float | None:
        """Clock time at which this event is due, or None for "now"."""
        if self.speed is None or occurred_at is None:
            return None
        if self._origin is None:
            self._origin = (self.clock(), occurred_at)
        if self._latest is None or occurred_at > self._latest:
            self._latest = occurred_at
        start, first = self._origin
        return start + (self._latest - first).total_seconds() / self.speed

    def wait(self, occurred_at: datetime | None) -> None:
        """Return once the event is due (at once when unpaced or already late)."""
        at = self.due(occurred_at)
        if at is None:
            return
        while (left := at - self.clock()) > 0:
            if self.sleep(left):  # threading.Event.wait returns True when stopped
                return
