"""The analytics views as migration 002 defined them, for comparing with the current ones.

The views of stream_app/store/views.sql redefine dossier_facts, unit_daily and
monthly_report for speed and must give exactly the same rows. `install_002` creates
002's three views, from the 002 file as it shipped (kept here as views_002.sql), in
another database of the same store, reading the same tables;
`assert_same_views` compares every column's name and type and every row.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from stream_app.store.migrate import _statements

VIEWS = ("dossier_facts", "unit_daily", "monthly_report")


def install_002(client: Any, db: str, into: str) -> None:
    sql = Path(__file__).with_name("views_002.sql").read_text(encoding="utf-8")
    for view in VIEWS:
        sql = sql.replace("{db}." + view, f"{into}.{view}")
    client.command(f"CREATE DATABASE IF NOT EXISTS {into}")
    for statement in _statements(sql):
        client.command(statement.replace("{db}", db))


def _columns(client: Any, db: str, view: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in client.query(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position",
        parameters={"db": db, "t": view}).result_rows]


def _rows(client: Any, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in client.query(sql, parameters=params).result_rows), key=repr)


def assert_same_views(client: Any, db: str, old: str) -> int:
    """Every view of `db` equals 002's in `old`, whole and filtered by month; returns the months compared."""
    for view in VIEWS:
        assert _columns(client, db, view) == _columns(client, old, view), view
        new_rows = _rows(client, f"SELECT * FROM {db}.{view}")
        assert new_rows, f"{view} is empty: nothing compared"
        assert new_rows == _rows(client, f"SELECT * FROM {old}.{view}"), view
    # The month filter (pushed into the new view) against the old view, month by month,
    # and two months at once as the report asks them.
    months: list[date] = [r[0] for r in client.query(
        f"SELECT DISTINCT month FROM {old}.monthly_report ORDER BY month").result_rows]
    for m in months:
        assert _rows(client, f"SELECT * FROM {db}.monthly_report WHERE month = {{m:Date}}", m=m) == \
            _rows(client, f"SELECT * FROM {old}.monthly_report WHERE month = {{m:Date}}", m=m), m
    if len(months) > 1:
        two = "SELECT * FROM {}.monthly_report WHERE month IN ({{a:Date}}, {{b:Date}})"
        params = {"a": months[-1], "b": months[-2]}
        assert _rows(client, two.format(db), **params) == _rows(client, two.format(old), **params)
    return len(months)
