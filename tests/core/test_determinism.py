"""Neither batching, nor arrival order within the lateness, nor dossiers at rest, nor a
restore point changes the result.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.builders import (
    DOSSIER,
    OTHER,
    comparable,
    pick,
    received,
    state_after,
    t,
)
from tests.core.conftest import LATENESS
from tests.core.strategies import arrivals, as_of_for, final, province, tables

# -- determinism -------------------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=province(), cuts=st.lists(st.integers(0, 40), max_size=6), extra=st.sampled_from([0, 3, 30]))
def test_any_batching_gives_the_same_final_state_and_alerts(make_driver, events, cuts, extra):
    as_of = as_of_for(events, extra)
    bounds = [0, *sorted({c for c in cuts if c < len(events)}), len(events)]
    batches = [events[i:j] for i, j in zip(bounds, bounds[1:]) if j > i]

    one_by_one = final(make_driver(), [[e] for e in events], as_of)
    batched = final(make_driver(), batches, as_of)

    assert batched == one_by_one
    assert one_by_one[2] == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=province(), size=st.integers(1, 5), extra=st.sampled_from([0, 3, 30]))
def test_dossiers_put_at_rest_and_rebuilt_give_exactly_what_live_ones_give(make_driver, events, size, extra):
    """Keeping one dossier live (every other at rest, rebuilt on its next event or
    timer) changes nothing a user sees: rows, alerts in their order, dead letters."""
    as_of = as_of_for(events, extra)
    batches = [events[i:i + size] for i in range(0, len(events), size)]
    live, resting = make_driver(), make_driver(hot_limit=1)

    assert final(resting, batches, as_of) == final(live, batches, as_of)
    assert [pick(a, "alert_id", "retracted", "version") for a in resting.alerts()] == [
        pick(a, "alert_id", "retracted", "version") for a in live.alerts()]
    assert len(resting.processor.histories) <= 1 + len(resting.processor.waiting)
    assert resting.processor.dossier_ids() == live.processor.dossier_ids()


def test_a_dossier_at_rest_wakes_for_its_timer(make_driver):
    d = make_driver(hot_limit=1)
    d.push(received("2024-03-04 09:00"))
    d.push(received("2024-03-04 10:00", dossier=OTHER))  # puts DOSSIER at rest

    assert DOSSIER in d.processor.resting and DOSSIER not in d.processor.histories
    d.advance(t("2024-03-12 00:00"))
    assert {(a["dossier_id"], a["kind"]) for a in d.alerts()} >= {(DOSSIER, "sla_warning"), (DOSSIER, "sla_breach")}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=province(), seed=st.integers(0, 2**32 - 1), extra=st.sampled_from([0, 3, 30]))
def test_any_arrival_order_within_the_lateness_gives_the_same_final_state(make_driver, events, seed, extra):
    as_of = as_of_for(events, extra)
    rng = random.Random(seed)
    jitter = {e["event_id"]: timedelta(microseconds=rng.randrange(int(LATENESS / timedelta(microseconds=1))))
              for e in events}
    # Arrival by occurred_at + jitter < lateness: each event arrives before the watermark passes it.
    shuffled = sorted(events, key=lambda e: datetime.fromisoformat(e["occurred_at"]) + jitter[e["event_id"]])

    in_order = make_driver()
    expected = final(in_order, [[e] for e in events], as_of)
    reordered = make_driver()
    got = final(reordered, [[e] for e in shuffled], as_of)

    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert got[3] == expected[3] == sorted(e["event_id"] for e in events)
    assert got[2] == [] and reordered.stats["late"] == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=province(), split=st.integers(0, 40), extra=st.sampled_from([0, 3, 30]))
def test_a_processor_restored_at_any_point_carries_on_identically(make_driver, events, split, extra):
    as_of, split = as_of_for(events, extra), min(split, len(events))
    a = make_driver()
    a.push_each(events[:split])
    before = a.alert_ids()
    b = make_driver(watermark=a.processor.low_watermark())
    b.processor.restore(a.stored())

    for d in (a, b):
        d.push_each(events[split:])
        d.finish(as_of)

    assert comparable({**state_after(a, upto=split), **b.state()}) == comparable(a.state())
    assert before | b.alert_ids() == a.alert_ids()
    assert before.isdisjoint(b.alert_ids())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), extra=st.sampled_from([0, 3, 30]))
def test_any_batching_of_any_arrival_gives_every_table_of_record_by_record_processing(make_driver, data, extra):
    """Timers fire in record order: whatever the batch boundaries (a fetch's chunking, a
    crash point, live or replay), each partition's timers fire as soon as its watermark
    passes them, before its next record — so every table, retracted alerts and versions
    included, is the one record-by-record processing gives."""
    events = data.draw(arrivals(LATENESS))
    cuts = data.draw(st.lists(st.integers(0, len(events)), max_size=8))
    as_of = as_of_for(events, extra)
    one_by_one, batched = make_driver(), make_driver()
    records = [one_by_one.record(e) for e in events]
    bounds = [0, *sorted(set(cuts)), len(records)]

    for r in records:
        one_by_one.push(r)
    for i, j in zip(bounds, bounds[1:]):
        if j > i:
            batched.push(*records[i:j])
    for d in (one_by_one, batched):
        d.finish(as_of)

    assert tables(batched) == tables(one_by_one)
