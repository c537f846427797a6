"""Failed sign-ins over a sliding window: locked after the limit, free again when the
oldest failure leaves the window; a success clears the count."""

from __future__ import annotations

from stream_app.web.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_key_is_locked_after_the_limit_of_failures():
    clock = Clock()
    t = Throttle(3, 900, clock=clock)
    for _ in range(2):
        t.fail("lan")
        assert t.wait_s("lan") == 0
    t.fail("lan")
    assert t.wait_s("lan") == 900


def test_a_lock_ends_when_the_oldest_failure_leaves_the_window():
    clock = Clock()
    t = Throttle(3, 900, clock=clock)
    for at in (0, 100, 200):
        clock.t = at
        t.fail("lan")
    clock.t = 899
    assert t.wait_s("lan") == 1
    clock.t = 900
    assert t.wait_s("lan") == 0


def test_keys_are_counted_apart():
    t = Throttle(1, 900, clock=Clock())
    t.fail("lan")
    assert t.wait_s("lan") > 0 and t.wait_s("minh") == 0


def test_clearing_a_key_forgets_its_failures():
    t = Throttle(2, 900, clock=Clock())
    t.fail("lan")
    t.clear("lan")
    t.fail("lan")
    assert t.wait_s("lan") == 0
