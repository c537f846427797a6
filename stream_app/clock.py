"""The wall clock, read in one place.

Code that needs "now" takes a clock (a function returning an aware datetime) and
tests pass their own; `utc_now` is the real one the jobs start with.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
