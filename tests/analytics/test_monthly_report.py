"""monthly_report and unit_daily, computed through the real pipeline on the crafted province.

Every expected figure is worked out by hand in `tests/analytics/crafted.py`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.analytics import crafted
from tests.analytics.crafted import D3, D6, D8, D9, D12, NOV, OCT, A, B

pytestmark = pytest.mark.integration

MONTHLY_COLUMNS = [
    "month", "unit", "received", "finished", "finished_early", "finished_on_time", "finished_overdue",
    "overdue_rate", "open_at_month_end", "open_overdue_at_month_end", "prev_finished", "prev_finished_overdue",
    "prev_overdue_rate", "overdue_rate_change", "timeliness_score", "digitisable", "digitised", "digitised_rate",
    "payments", "payments_online", "online_payment_rate", "overdue_tax", "overdue_open_after_completion",
    "overdue_supplement", "overdue_unit_held",
]


def query(client: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    q = client.query(sql, parameters=params)
    return [dict(zip(q.column_names, r)) for r in q.result_rows]


def assert_cells(actual: dict[str, Any], expected: dict[str, Any], where: str) -> None:
    for name, want in expected.items():
        got = actual[name]
        if isinstance(want, float):
            assert got == pytest.approx(want), f"{where} {name}: {got} != {want}"
        else:
            assert got == want, f"{where} {name}: {got!r} != {want!r}"


@pytest.fixture(scope="module")
def monthly(store_client: Any) -> dict[tuple[date, str], dict[str, Any]]:
    rows = query(store_client, "SELECT * FROM dossier.monthly_report ORDER BY month, unit")
    return {(r["month"], r["unit"]): r for r in rows}


def test_monthly_report_has_the_contract_columns(store_client: Any) -> None:
    q = store_client.query("SELECT * FROM dossier.monthly_report LIMIT 0")
    assert list(q.column_names) == MONTHLY_COLUMNS


def test_one_row_per_month_and_receiving_unit(monthly: dict) -> None:
    assert sorted(monthly) == [(OCT, A), (OCT, B), (NOV, A), (NOV, B)]


@pytest.mark.parametrize("key", sorted(crafted.MONTHLY), ids=lambda k: f"{k[0]:%Y-%m}-{k[1][:3]}")
def test_every_cell_matches_the_hand_computed_figures(monthly: dict, key: tuple[date, str]) -> None:
    expected = crafted.MONTHLY[key]
    assert set(expected) | {"month", "unit"} == set(MONTHLY_COLUMNS)
    assert_cells(monthly[key], expected, f"{key[0]:%Y-%m} {key[1]}")


def test_causes_add_up_to_the_overdue_dossiers(monthly: dict) -> None:
    for row in monthly.values():
        causes = row["overdue_tax"] + row["overdue_open_after_completion"] + row["overdue_supplement"] \
            + row["overdue_unit_held"]
        assert causes == row["finished_overdue"]


def test_a_dossier_overdue_across_two_months_counts_open_overdue_then_finished_overdue(store_client: Any) -> None:
    """D3: open and overdue at the end of October, finished overdue in November."""
    rows = query(store_client, """
        SELECT toStartOfMonth(finished_at) AS finished_month, classification, overdue_cause, overdue_unit,
               arrayExists(b -> b < toDateTime64('2023-11-01 00:00:00', 3, 'Asia/Ho_Chi_Minh'), breach_times)
                   AS overdue_at_october_end
        FROM dossier.dossier_facts WHERE dossier_id = {id:String}""", id=D3)
    assert rows == [{"finished_month": NOV, "classification": "overdue", "overdue_cause": "unit",
                     "overdue_unit": crafted.OFFICE, "overdue_at_october_end": 1}]


def test_a_supplement_restart_clears_overdue_at_the_month_end(store_client: Any) -> None:
    """D12 breached on 09/10 but its limit restarted on 30/10: not overdue at the end of October."""
    rows = query(store_client, """
        SELECT length(breach_times) AS breaches, length(restart_times) AS restarts, classification
        FROM dossier.dossier_facts WHERE dossier_id = {id:String}""", id=D12)
    assert rows == [{"breaches": 2, "restarts": 1, "classification": "overdue"}]


def test_months_are_local_months(store_client: Any) -> None:
    """D8 received 31/10 23:30 UTC and D9 finished 31/10 17:30 UTC both belong to November."""
    rows = query(store_client, """
        SELECT dossier_id, toStartOfMonth(received_at) AS received_month,
               toStartOfMonth(finished_at) AS finished_month, classification
        FROM dossier.dossier_facts WHERE dossier_id IN ({ids:Array(String)}) ORDER BY dossier_id""",
                 ids=[D8, D9])
    assert rows == [
        {"dossier_id": D9, "received_month": OCT, "finished_month": NOV, "classification": "on_time"},
        {"dossier_id": D8, "received_month": NOV, "finished_month": NOV, "classification": "early"},
    ]


def test_the_current_month_agrees_with_the_live_classification(store_client: Any, monthly: dict) -> None:
    """At the stream's own month end, open / open overdue equal dossier_state's current view."""
    live = query(store_client, """
        SELECT toString(receiving_unit) AS unit, countIf(status != 'finished') AS open,
               countIf(classification = 'open_overdue') AS open_overdue
        FROM dossier.dossier_state FINAL GROUP BY unit ORDER BY unit""")
    assert live == [{"unit": u, "open": monthly[(NOV, u)]["open_at_month_end"],
                     "open_overdue": monthly[(NOV, u)]["open_overdue_at_month_end"]} for u in (A, B)]


# ----------------------------------------------------------------------- unit_daily
@pytest.fixture(scope="module")
def daily(store_client: Any) -> dict[tuple[date, str, str], dict[str, Any]]:
    rows = query(store_client, "SELECT * FROM dossier.unit_daily")
    return {(r["day"], r["unit"], r["procedure_code"]): r for r in rows}


@pytest.mark.parametrize(("day", "unit", "procedure", "expected"), [
    # D3, due 30/10, is overdue at the end of that day and breaches at 00:00 on 31/10 (the day
    # it is first late); it is the only overdue one of A at the end of 31/10 (D6 paused at
    # tax, D9 due 01/11).
    (date(2023, 10, 30), A, "1.012713", {"breaches": 0, "open_at_day_end": 2, "open_overdue_at_day_end": 1}),
    (date(2023, 10, 31), A, "1.012713", {"breaches": 1, "open_at_day_end": 2, "open_overdue_at_day_end": 1}),
    (date(2023, 10, 31), A, "1.012711", {"open_at_day_end": 1, "open_overdue_at_day_end": 0}),
    # D12 overdue from the end of 09/10 until its restart on 30/10; D5, due 30/10, is overdue
    # at the end of that day and breaches at 00:00 on 31/10.
    (date(2023, 10, 10), B, "1.012713", {"open_at_day_end": 1, "open_overdue_at_day_end": 1}),
    (date(2023, 10, 30), B, "1.012713", {"breaches": 0, "open_at_day_end": 2, "open_overdue_at_day_end": 1}),
    (date(2023, 10, 31), B, "1.012713", {"breaches": 1, "finished": 1, "finished_overdue": 1, "open_at_day_end": 1,
                                         "open_overdue_at_day_end": 0}),
    # D4's tax notice was due 12/10 09:00; D6's result was ready 08/11 and never closed.
    (date(2023, 10, 12), B, "1.012711", {"tax_delays": 1, "open_at_day_end": 1}),
    (date(2023, 11, 9), A, "1.012711", {"open_after_completion": 1, "open_overdue_at_day_end": 0}),
    (date(2023, 11, 30), A, "1.012711", {"open_at_day_end": 1, "open_overdue_at_day_end": 1}),
    # D9 finished 00:30 on 01/11 local: a November day.
    (date(2023, 11, 1), A, "1.012713", {"finished": 1, "finished_on_time": 1, "open_at_day_end": 1}),
])
def test_unit_daily_cells(daily: dict, day: date, unit: str, procedure: str, expected: dict[str, int]) -> None:
    assert_cells(daily[(day, unit, procedure)], expected, f"{day} {unit} {procedure}")


def test_unit_daily_adds_up_to_monthly_report(daily: dict, monthly: dict) -> None:
    for (month, unit), row in monthly.items():
        days = [r for (d, u, _), r in daily.items() if u == unit and (d.year, d.month) == (month.year, month.month)]
        for col in ("received", "finished", "finished_early", "finished_on_time", "finished_overdue"):
            assert sum(r[col] for r in days) == row[col], (month, unit, col)
        last = max(d for d, u, _ in daily if u == unit and (d.year, d.month) == (month.year, month.month))
        at_end = [r for (d, u, _), r in daily.items() if u == unit and d == last]
        assert sum(r["open_at_day_end"] for r in at_end) == row["open_at_month_end"]
        assert sum(r["open_overdue_at_day_end"] for r in at_end) == row["open_overdue_at_month_end"]


def test_dossiers_still_overdue_at_each_month_end(store_client: Any) -> None:
    from stream_app.report.data import load_month

    october = load_month(store_client, "dossier", OCT)
    november = load_month(store_client, "dossier", NOV)
    assert [s.dossier_id for s in october.still_overdue] == [D3]
    assert [s.dossier_id for s in november.still_overdue] == [D6]
    assert november.still_overdue[0].overdue_cause == "open_after_completion"
