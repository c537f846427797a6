"""The live page's HTTP endpoints, served by a real worker on a crafted store (see conftest)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest

from tests.web.conftest import (
    A2,
    AS_OF,
    B2,
    C1,
    EXPECTED_UNITS,
    OFFICE,
    A,
    B,
    C,
    Client,
    LiveWorker,
    copy_store,
    live_worker,
    query,
)

pytestmark = pytest.mark.integration

METRICS = ["open", "due_soon", "overdue", "open_after_completion", "tax_overdue"]


@pytest.fixture(scope="module")
def store(crafted_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_store(crafted_store, tmp_path_factory.mktemp("web-views") / "store")


@pytest.fixture(scope="module")
def worker(store: Path, users_file: Path) -> Iterator[LiveWorker]:
    with live_worker(store, users_file) as w:
        yield w


@pytest.fixture(scope="module")
def client(worker: LiveWorker) -> Client:
    """The task force, signed in: it sees every unit."""
    return worker.client("totrinh")


def units(client: Client) -> dict[str, dict[str, int]]:
    return {u["unit"]: {m: u[m] for m in METRICS} for u in client.get_json("/api/live")["units"]}


def test_counts_per_receiving_unit_are_the_crafted_ones(client: Client):
    assert units(client) == EXPECTED_UNITS


def test_counts_equal_an_independent_read_of_clickhouse(client: Client, store: Path):
    rows = query(store, """
        SELECT toString(receiving_unit), count(),
               countIf(classification = 'open_overdue'),
               countIf(dossier_id IN (SELECT dossier_id FROM dossier.alerts FINAL
                                      WHERE kind = 'open_after_completion' AND NOT retracted)),
               countIf(tax_notice_at IS NULL AND dossier_id IN (SELECT dossier_id FROM dossier.alerts FINAL
                                      WHERE kind = 'tax_overdue' AND NOT retracted))
        FROM dossier.dossier_state FINAL WHERE finished_at IS NULL GROUP BY 1""")
    expected = {u: {"open": o, "overdue": od, "open_after_completion": aoc, "tax_overdue": tax}
                for u, o, od, aoc, tax in rows}
    page = units(client)
    assert {u: {k: v for k, v in c.items() if k != "due_soon"} for u, c in page.items()} == expected


def test_a_dossier_only_another_worker_wrote_is_counted(client: Client):
    """C1 exists only as a row in the store (never in this worker's memory): the page counts it."""
    assert units(client)[C] == {"open": 1, "due_soon": 0, "overdue": 1, "open_after_completion": 0, "tax_overdue": 0}
    d = client.get_json(f"/api/dossier?code={C1}")
    assert d["found"] and d["classification"] == "open_overdue"


def test_totals_and_the_store_clock(client: Client):
    live = client.get_json("/api/live")
    assert live["as_of"] == AS_OF.isoformat()
    assert live["totals"] == {"open": 9, "due_soon": 2, "overdue": 3, "open_after_completion": 1, "tax_overdue": 1}
    assert live["metrics"] == METRICS


def test_latest_alerts_come_newest_first_with_vietnamese_labels(client: Client, store: Path):
    alerts = client.get_json("/api/live")["alerts"]
    in_store = query(store, "SELECT alert_id FROM dossier.alerts FINAL ORDER BY fires_at DESC, emitted_at DESC, alert_id")
    assert [a["alert_id"] for a in alerts] == [r[0] for r in in_store][:len(alerts)]
    first = alerts[0]
    # B2 is due Fri 01/12 10:00: its warning came at Thu 30/11 10:00, the latest alert.
    assert (first["kind"], first["label"], first["dossier_id"], first["fires_at"]) == (
        "sla_warning", "Sắp đến hạn", B2, "2023-11-30T10:00:00+07:00")
    assert code_of(first["message"]) == B2
    assert {a["kind"] for a in alerts} >= {"sla_breach", "tax_overdue", "open_after_completion"}


def code_of(message: str) -> str:
    return re.search(r"hồ sơ (\S+)", message).group(1)


def test_units_have_their_names(client: Client):
    names = {u["unit"]: (u["name"], u["full_name"]) for u in client.get_json("/api/live")["units"]}
    assert names[A] == ("Chi nhánh thành phố Tây Ninh", "Chi nhánh Văn phòng Đăng ký đất đai thành phố Tây Ninh")
    assert names[B][0] == "Chi nhánh thị xã Hòa Thành"


def test_chart_covers_the_sixty_days_up_to_the_watermark(client: Client):
    chart = client.get_json("/api/chart")
    assert (chart["first"], chart["last"], len(chart["days"])) == ("2023-10-02", "2023-11-30", 60)
    by_unit = {u["unit"]: u for u in chart["units"]}
    a, b = by_unit[A], by_unit[B]
    i27, i28 = chart["days"].index("2023-11-27"), chart["days"].index("2023-11-28")
    assert (a["finished"][i27], a["overdue"][i27], a["rate"][i27]) == (2, 1, 0.5)
    assert (b["finished"][i28], b["overdue"][i28], b["rate"][i28]) == (1, 1, 1.0)
    assert a["rate"][i28] is None and sum(a["finished"]) == 2 and sum(b["finished"]) == 1
    assert by_unit[C]["finished"] == [0] * 60


def test_chart_equals_clickhouse(client: Client, store: Path):
    chart = client.get_json("/api/chart")
    rows = query(store, """
        SELECT toString(receiving_unit), toString(toDate(finished_at)), count(), countIf(classification = 'overdue')
        FROM dossier.dossier_state FINAL WHERE finished_at IS NOT NULL GROUP BY 1, 2""")
    page = {(u["unit"], day, f, o) for u in chart["units"] for day, f, o in zip(chart["days"], u["finished"], u["overdue"]) if f}
    assert page == set(rows)


def test_dossier_timeline(client: Client):
    d = client.get_json(f"/api/dossier?code={B2}")
    assert d["found"] is True
    assert [e["type"] for e in d["events"]] == ["received", "transferred"]
    assert d["events"][1]["detail"] == "đến Văn phòng Đăng ký đất đai tỉnh Tây Ninh"
    assert d["due_at"] == "2023-12-01T10:00:00+07:00"
    assert (d["status_label"], d["classification_label"]) == ("Đang giải quyết", "Trong hạn")
    assert [(u["unit"], u["hours"], u["holding"]) for u in d["unit_hours"]] == [(B, 7.0, False), (OFFICE, 30.0, True)]
    assert d["pauses"] == []
    assert [(a["kind"], a["label"], a["fires_at"], a["retracted"]) for a in d["alerts"]] == [
        ("sla_warning", "Sắp đến hạn", "2023-11-30T10:00:00+07:00", False)]


def test_dossier_timeline_shows_pauses_and_alerts(client: Client):
    d = client.get_json(f"/api/dossier?code={code_of_unit(A, 13)}")
    assert d["status"] == "paused" and d["due_at"] is None
    assert [(p["reason"], p["from"], p["ongoing"]) for p in d["pauses"]] == [("tax", "2023-11-14T09:00:00+07:00", True)]
    # Tue 14/11 09:00 to Thu 30/11 18:00: 6 h on the 14th, then 12 working days of 8 h.
    assert d["pauses"][0]["working_hours"] == 102.0
    assert [(a["kind"], a["fires_at"]) for a in d["alerts"]] == [("tax_overdue", "2023-11-21T09:00:00+07:00")]
    assert d["tax_due_at"] == "2023-11-21T09:00:00+07:00"
    # Mon 13/11 09:00 to the transfer to tax on Tue 14/11 09:00; the tax wait is nobody's share.
    assert [(u["unit"], u["hours"], u["holding"]) for u in d["unit_hours"]] == [(A, 8.0, False)]


def code_of_unit(unit: str, day: int) -> str:
    return f"{unit}-2311{day:02d}-0001"


def test_dossier_search_by_part_of_the_code_lists_matches(client: Client):
    d = client.get_json("/api/dossier?code=231124", status=404)
    assert d == {"found": False, "code": "231124", "matches": [code_of_unit(A, 24), B2]}


def test_the_search_puts_an_exact_code_first_and_says_so(client: Client):
    assert client.get_json(f"/api/search?q={B2}") == {"q": B2, "exact": True, "matches": [B2]}
    assert client.get_json("/api/search?q=231124") == {"q": "231124", "exact": False,
                                                       "matches": [code_of_unit(A, 24), B2]}


def test_dossier_search_needs_a_code(client: Client):
    status, headers, _ = client.get("/api/dossier?code=")
    assert (status, headers["Content-Type"]) == (400, "application/json; charset=utf-8")


def test_the_dossiers_behind_a_cell(client: Client):
    d = client.get_json(f"/api/dossiers?unit={A}&metric=overdue")
    assert [r["dossier_id"] for r in d["dossiers"]] == [A2]
    d = client.get_json(f"/api/dossiers?unit={B}&metric=due_soon")
    assert [(r["dossier_id"], r["due_at"]) for r in d["dossiers"]] == [(B2, "2023-12-01T10:00:00+07:00")]
    assert client.get_json(f"/api/dossiers?unit={C}&metric=due_soon")["dossiers"] == []
    assert client.get(f"/api/dossiers?unit={A}&metric=nonsense")[0] == 400


@pytest.mark.parametrize("path, ctype", [
    ("/", "text/html"), ("/static/app.js", "text/javascript"), ("/static/style.css", "text/css"),
])
def test_the_page_is_served_offline_in_vietnamese(client: Client, path: str, ctype: str):
    status, headers, body = client.get(path)
    assert status == 200 and headers["Content-Type"] == f"{ctype}; charset=utf-8"
    text = body.decode("utf-8")
    # Nothing loaded from outside: no absolute URL in a src, href, import or fetch.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|fetch\(\s*["'`]https?:""", text)
    if path == "/":
        assert 'lang="vi"' in text and "Đến hạn trong 1 ngày làm việc" in text and "Chờ thuế quá hạn" in text

