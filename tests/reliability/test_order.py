"""Order and duplication on the real tables (issue 7, item 5).

The same province, with its lines reordered within the allowed lateness (shuffled
inside five-minute windows, so dossiers interleave differently and a dossier's own
events may swap) and with lines repeated (next to the original, and long after it
at the end of the file), goes through the real `run`: the tables must equal those
of the clean run. The pure-processor properties live in tests/core.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest

from stream_app.replay.source import peek
from tests.integration.helpers import run
from tests.reliability.conftest import CleanRun
from tests.reliability.helpers import tables

pytestmark = pytest.mark.integration

WINDOW_S = 300  # half the default allowed lateness (600 s)


def disorder(src: Path, dest: Path, seed: int, *, near: float = 0.1, late: float = 0.02) -> Path:
    """Shuffle lines inside fixed five-minute windows of event time; repeat a share of
    them inside their window and another share at the end of the file."""
    rng = random.Random(seed)
    windows: list[list[bytes]] = []
    key = None
    for line in src.read_bytes().splitlines():
        if not line.strip():
            continue
        _, ts = peek(line)
        try:
            t = datetime.fromisoformat(ts) if ts else None
        except ValueError:
            t = None
        w = int(t.timestamp()) // WINDOW_S if t is not None and t.tzinfo is not None else key
        if w != key or not windows:
            windows.append([])
            key = w
        windows[-1].append(line)
    out, tail = [], []
    for window in windows:
        extra = [line for line in window if rng.random() < near]
        tail += [line for line in window if rng.random() < late]
        window = window + extra
        rng.shuffle(window)
        out += window
    rng.shuffle(tail)
    dest.write_bytes(b"\n".join(out + tail) + b"\n")
    return dest


def same_tables(got: dict, want: dict) -> None:
    for name in want:
        if name == "dead_letters":
            # Repeated bad lines are repeated dead letters, at other lines: compare content.
            assert {r[1:] for r in got[name]} == {r[1:] for r in want[name]}
        else:
            assert got[name] == want[name], name


def test_disorder_within_the_lateness_and_repeats_leave_the_tables_of_the_clean_run(clean: CleanRun, tmp_path: Path):
    path = disorder(clean.events, tmp_path / "province.jsonl", seed=1)
    assert path.read_bytes() != clean.events.read_bytes()
    summary = run(path, tmp_path / "store")
    assert summary.stats["duplicates"] > 100
    assert summary.stats.get("late", 0) == 0
    same_tables(tables(tmp_path / "store"), clean.tables)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_more_disorders_leave_the_tables_of_the_clean_run(clean: CleanRun, tmp_path: Path, seed: int):
    path = disorder(clean.events, tmp_path / "province.jsonl", seed=seed, near=0.3, late=0.1)
    run(path, tmp_path / "store")
    same_tables(tables(tmp_path / "store"), clean.tables)
