"""Failed sign-ins counted per key (a user name, an address) over a sliding window.

After `limit` failures within `window_s`, the key is refused until the oldest of
them leaves the window; a refused attempt is not checked at all (no password is
tried while locked) and does not count again, so a lock-out ends on time. Held in
the serving process's memory: a restart forgets it, and with several workers each
counts its own (docs/security.md). The clock is injected (monotonic seconds).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable

MAX_KEYS = 100_000  # a flood of made-up names must not grow memory without bound


class Throttle:
    def __init__(self, limit: int, window_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and now - q[0] >= self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def wait_s(self, key: str) -> float:
        """0 if `key` may try now, else the seconds until it may."""
        q = self._recent(key)
        if len(q) < self.limit:
            return 0.0
        return max(0.0, self.window_s - (self.clock() - q[-self.limit]))

    def fail(self, key: str) -> None:
        if len(self._failures) >= MAX_KEYS and key not in self._failures:
            self._prune()
        self._failures.setdefault(key, deque()).append(self.clock())

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def _prune(self) -> None:
        for key in list(self._failures):
            self._recent(key)
        if len(self._failures) >= MAX_KEYS:  # still full of fresh keys: forget the oldest half
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[: MAX_KEYS // 2]:
                del self._failures[key]
