"""Runs that continue each other: the store is the durable truth (issue 11).

The embedded broker keeps nothing between runs, so state carries over through
ClickHouse: a file split in two and run piece by piece must leave exactly the
tables of one run on the whole file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stream_app.replay.generate import generate
from tests.integration.helpers import (
    D1_FREE,
    run,
    snapshot,
    split_by_time,
    without_sources,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("province") / "province.jsonl"
    generate(path, months=2, seed=7, dossiers_per_month=150, start=date(2024, 1, 1))
    return path


def test_two_files_in_a_row_equal_one_run_of_both(province: Path, tmp_path: Path):
    first, second = split_by_time(province, "2024-02-01T00:00:00+07:00", tmp_path)
    run(first, tmp_path / "split")
    run(second, tmp_path / "split")
    run(province, tmp_path / "whole")
    split, whole = snapshot(tmp_path / "split"), snapshot(tmp_path / "whole")
    assert split["events"] == whole["events"]
    assert split["dossier_state"] == whole["dossier_state"]
    assert split["alerts"] == whole["alerts"]
    assert without_sources(split["dead_letters"]) == without_sources(whole["dead_letters"])


def test_a_dossier_received_in_an_earlier_run_is_never_unknown(tmp_path: Path):
    from tests.integration.helpers import write_jsonl

    a = write_jsonl(tmp_path / "a.jsonl", [D1_FREE[0]])
    b = write_jsonl(tmp_path / "b.jsonl", D1_FREE[1:])
    store = tmp_path / "store"
    run(a, store)
    summary = run(b, store)
    assert summary.stats.get("dead_letter.unknown_dossier", 0) == 0
    assert summary.stats["applied"] == len(D1_FREE) - 1
