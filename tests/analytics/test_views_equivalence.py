"""Migration 004's views give exactly 002's rows (issue 6: the same report, faster).

Three stores: a synthetic province through the real pipeline (supplements, tax,
extensions, late events, dossiers open across months), a store built in SQL as the
benchmark builds it (three years, payments, breach alerts on a fifth of the
dossiers) and the crafted province of the other analytics tests. In each, 002's
views are installed from the shipped 002 file into another database over the same
tables, and every view is compared whole, column types included, and monthly_report
month by month through the filter that 004 pushes down.

Each store is opened in its own test, one at a time: only one chDB store may be
open in a process (docs/platform.md).
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bench.scale import _build_report_store
from stream_app.jobs.run import run_file
from stream_app.jobs.stack import kafka_bootstrap
from stream_app.replay.generate import generate
from stream_app.settings import Settings
from stream_app.store.client import connect
from stream_app.store.migrate import migrate
from tests.analytics.views_old import assert_same_views, install_002

pytestmark = pytest.mark.integration


def _compare(store: str) -> int:
    """Compare 004's views with 002's; returns the months compared. The store must hold
    what makes the views hard (breaches, and supplements after them), or nothing is shown."""
    client = connect(store)
    try:
        install_002(client, "dossier", "dossier_002")
        (breaches, restarts), = client.query(
            "SELECT countIf(notEmpty(breach_times)), countIf(notEmpty(restart_times)) "
            "FROM dossier.dossier_facts").result_rows
        assert breaches > 0 and restarts > 0
        return assert_same_views(client, "dossier", "dossier_002")
    finally:
        client.close()


def test_synthetic_province_through_the_pipeline(tmp_path: Path) -> None:
    path = tmp_path / "province.jsonl"
    generate(path, months=3, seed=11, dossiers_per_month=200, start=date(2024, 1, 1))
    settings = Settings(clickhouse=f"chdb://{tmp_path}/store", log_format="json", log_level="WARNING")
    with kafka_bootstrap(settings) as bootstrap:
        asyncio.run(run_file(settings, path, bootstrap=bootstrap))
    assert _compare(settings.clickhouse.get_secret_value()) >= 3


def test_store_built_in_sql_like_the_benchmark(tmp_path: Path) -> None:
    store = f"chdb://{tmp_path}/store"
    client = connect(store)
    try:
        migrate(client, "dossier")
        _build_report_store(client, "dossier", 60_000)  # 12 000 dossiers over three years
    finally:
        client.close()
    assert _compare(store) >= 36


def test_crafted_province(crafted_settings: Settings) -> None:
    assert _compare(crafted_settings.clickhouse.get_secret_value()) == 2


def test_an_empty_store_has_empty_views(tmp_path: Path) -> None:
    client: Any = connect(f"chdb://{tmp_path}/store")
    try:
        migrate(client, "dossier")
        for view in ("dossier_facts", "unit_daily", "monthly_report"):
            assert client.query(f"SELECT count() FROM dossier.{view}").result_rows == [(0,)]
        assert client.query("SELECT * FROM dossier.monthly_report WHERE month = {m:Date}",
                            parameters={"m": date(2024, 6, 1)}).result_rows == []
    finally:
        client.close()
