"""Pacing a replay: original gaps compressed N times, on an injected clock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from stream_app.replay.pace import Pacer, parse_speed

T0 = datetime.fromisoformat("2024-01-04T09:00:00+07:00")


class FakeClock:
    """A monotonic clock that only moves when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def sent_at(speed: float | None, times: list[datetime | None]) -> list[float]:
    clock = FakeClock()
    pacer = Pacer(speed, clock=clock, sleep=clock.sleep)
    out = []
    for t in times:
        pacer.wait(t)
        out.append(round(clock.now - 100.0, 6))
    return out


def test_gaps_are_compressed_by_the_speed():
    times = [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=3)]
    assert sent_at(3600, times) == [0.0, 1.0, 3.0]


def test_speed_one_keeps_the_original_pace():
    assert sent_at(1, [T0, T0 + timedelta(seconds=2.5)]) == [0.0, 2.5]


def test_a_late_event_goes_out_at_once_and_does_not_shift_the_schedule():
    times = [T0, T0 + timedelta(hours=2), T0 + timedelta(hours=1), T0 + timedelta(hours=3)]
    assert sent_at(3600, times) == [0.0, 2.0, 2.0, 3.0]


def test_a_line_without_a_time_goes_out_at_once():
    assert sent_at(3600, [T0, None, T0 + timedelta(hours=1)]) == [0.0, 0.0, 1.0]


def test_max_never_sleeps():
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    for h in range(100):
        pacer.wait(T0 + timedelta(hours=h))
    assert clock.sleeps == []


def test_time_spent_sending_is_not_added_to_the_gaps():
    clock = FakeClock()
    pacer = Pacer(3600, clock=clock, sleep=clock.sleep)
    pacer.wait(T0)
    clock.now += 0.4  # sending took 0.4 s
    pacer.wait(T0 + timedelta(hours=1))
    assert clock.now == pytest.approx(101.0)


def test_a_stop_wakes_a_long_wait():
    stop = threading.Event()
    pacer = Pacer(1, sleep=stop.wait)
    pacer.wait(T0)
    threading.Timer(0.05, stop.set).start()
    pacer.wait(T0 + timedelta(days=1))  # would be a day; returns on stop
    assert stop.is_set()


@pytest.mark.parametrize("text, speed", [("max", None), ("MAX", None), ("3600", 3600.0), ("0.5", 0.5)])
def test_speed_parses(text: str, speed: float | None):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0", "-2", "fast", "inf", "nan", ""])
def test_bad_speed_is_refused(text: str):
    with pytest.raises(ValueError, match="speed must be"):
        parse_speed(text)
