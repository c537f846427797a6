"""The same file gives the same tables whatever the batch size (issue: timers in record order).

Dossier A (a certificate exchange, 5 working days) is received Mon 4/3/2024 09:00: due
Mon 11/3 09:00, its breach at 00:00 Tue 12/3. Its neighbours in the same partition move
that partition's stream time on to 15/3; then A's `concluded` of Fri 8/3 10:00 arrives,
days late. Record by record, the breach fires as soon as the watermark passes it and the
late `concluded` retracts it; before, a batch holding both applied the `concluded` first
and the breach never fired, so the `alerts` table depended on where batches fell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stream_app.kafka.producer import partition_of
from tests.integration.helpers import run, snapshot, write_jsonl

pytestmark = pytest.mark.integration

A = "000.22.31.H53-240304-0001"
UNIT = "000.22.31.H53"


def neighbours(n: int) -> list[str]:
    """Dossier codes in A's partition (4 partitions, Kafka's default partitioner)."""
    want = partition_of(A.encode(), 4)
    found = (f"000.22.31.H53-2403{d:02d}-{i:04d}" for d in range(5, 16) for i in range(100))
    return [c for c in found if partition_of(c.encode(), 4) == want][:n]


def lines() -> list[dict[str, Any]]:
    def ev(n: str, kind: str, dossier: str, at: str, **own: Any) -> dict[str, Any]:
        return {"event_id": n, "event_type": kind, "dossier_id": dossier, "occurred_at": f"{at}+07:00",
                "agency_code": UNIT, **own}

    out = [ev("a1", "received", A, "2024-03-04T09:00:00", procedure_code="1.012713")]
    for i, (d, day) in enumerate(zip(neighbours(6), (5, 8, 11, 12, 13, 15))):
        out.append(ev(f"n{i}", "received", d, f"2024-03-{day:02d}T09:00:00", procedure_code="1.012713"))
    out.append(ev("a2", "concluded", A, "2024-03-08T10:00:00", outcome="approved"))  # days late
    return out


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_every_table_is_the_same_for_any_batch_size(tmp_path: Path, batch_size: int):
    path = write_jsonl(tmp_path / "late.jsonl", lines())
    run(path, tmp_path / "default")
    run(path, tmp_path / "small", batch_size=batch_size)

    assert snapshot(tmp_path / "small") == snapshot(tmp_path / "default")
    breach = [r for r in snapshot(tmp_path / "default")["alerts"] if r[1] == "sla_breach" and r[2] == A]
    assert [(r[1], r[-2]) for r in breach] == [("sla_breach", True)]  # fired, then retracted by the late event


def test_a_replay_window_folds_each_dossier_into_one_state_row_and_changes_no_table(tmp_path: Path):
    """A replay holds several fetches per write (`replay_window`): a dossier's changes inside
    the window make one dossier_state row instead of one a fetch — and every table is the
    same as with a write per fetch."""
    from stream_app.replay.generate import generate

    path = tmp_path / "province.jsonl"
    generate(path, months=1, seed=3, dossiers_per_month=60)
    per_fetch = run(path, tmp_path / "per-fetch", batch_size=10, replay_window=10)
    windowed = run(path, tmp_path / "windowed", batch_size=10, replay_window=100_000)

    assert snapshot(tmp_path / "windowed") == snapshot(tmp_path / "per-fetch")
    assert windowed.stats["state_rows"] < per_fetch.stats["state_rows"]


@pytest.mark.parametrize(
    ("live", "window", "taken"),
    [
        pytest.param(True, 100_000, (4, 0.01), id="live: one fetch, whatever the window"),
        pytest.param(False, 10_000, (4, 0.01), id="replay by default: one fetch"),
        pytest.param(False, 25_000, (12, 0.1), id="replay: whole fetches up to the window"),
    ],
)
def test_the_agent_takes_one_fetch_live_and_a_window_of_fetches_in_a_replay(live, window, taken):
    from stream_app.kafka.agent import window as agent_window
    from stream_app.settings import Settings

    assert agent_window(Settings(partitions=4, batch_size=10_000, replay_window=window), live=live) == taken
