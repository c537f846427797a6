"""The views are exact under split runs and replays: October's file, then November's, then
the whole file again leave every cell of monthly_report as one run does (crafted.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import pytest

from stream_app.jobs.run import run_file
from stream_app.jobs.stack import kafka_bootstrap
from stream_app.settings import Settings
from stream_app.store.client import connect
from tests.analytics import crafted
from tests.analytics.test_monthly_report import assert_cells, query

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOVEMBER_STARTS = datetime.fromisoformat("2023-11-01T00:00:00+07:00")


def test_split_files_and_a_replay_give_the_same_monthly_report(tmp_path: Path) -> None:
    whole = crafted.write(tmp_path / "whole.jsonl")
    lines = whole.read_text(encoding="utf-8").splitlines()

    def when(line: str) -> datetime:
        return datetime.fromisoformat(json.loads(line)["occurred_at"].replace("Z", "+00:00"))

    october = tmp_path / "october.jsonl"
    october.write_text("\n".join(ln for ln in lines if when(ln) < NOVEMBER_STARTS) + "\n", encoding="utf-8")
    november = tmp_path / "november.jsonl"
    november.write_text("\n".join(ln for ln in lines if when(ln) >= NOVEMBER_STARTS) + "\n", encoding="utf-8")
    settings = Settings(clickhouse=f"chdb://{tmp_path}/store", log_format="json", log_level="WARNING")
    with kafka_bootstrap(settings) as bootstrap:
        asyncio.run(run_file(settings, october, bootstrap=bootstrap, as_of=NOVEMBER_STARTS))
        asyncio.run(run_file(settings, november, bootstrap=bootstrap, as_of=crafted.AS_OF))
        asyncio.run(run_file(settings, whole, bootstrap=bootstrap, as_of=crafted.AS_OF))
    client = connect(settings.clickhouse.get_secret_value())
    try:
        rows = {(r["month"], r["unit"]): r for r in query(client, "SELECT * FROM dossier.monthly_report")}
    finally:
        client.close()
    assert sorted(rows) == sorted(crafted.MONTHLY)
    for key, expected in crafted.MONTHLY.items():
        assert_cells(rows[key], expected, f"{key[0]:%Y-%m} {key[1]}")
