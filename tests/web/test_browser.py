"""The live page in a real headless Chromium (Debian's, driven by Playwright, see
`browser`), against a real worker serving the crafted store (see conftest), signed in
as the task force: no console error nor CSP violation, the numbers of ClickHouse, a
new event without a reload, the dossier search, the chart, Vietnam time in a browser
elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.web.browser import Console, browser, chromium, csp_violations, new_page, sign_in  # noqa: F401
from tests.web.conftest import (
    A2,
    B2,
    EXPECTED_UNITS,
    OFFICE,
    A,
    B,
    C,
    LiveWorker,
    copy_store,
    live_worker,
    query,
)

# Installing chromium with apt-get, when needed, happens in the first test's set-up.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

METRICS = ["open", "due_soon", "overdue", "open_after_completion", "tax_overdue"]
NEW = f"{A}-231130-0001"


@pytest.fixture(scope="module")
def store(crafted_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_store(crafted_store, tmp_path_factory.mktemp("web-browser") / "store")


@pytest.fixture(scope="module")
def worker(store: Path, users_file: Path) -> Iterator[LiveWorker]:
    with live_worker(store, users_file) as w:
        yield w


@pytest.fixture(scope="module")
def page(browser: Any, worker: LiveWorker) -> Iterator[tuple[Any, Console]]:
    pg, console = new_page(browser)
    sign_in(pg, worker.url, "totrinh")
    pg.wait_for_selector(f'#units td[data-unit="{A}"][data-metric="open"]')
    pg.wait_for_selector("#chart .unit-chart")
    yield pg, console
    pg.context.close()


def cell(pg: Any, unit: str, metric: str) -> str:
    return pg.inner_text(f'#units td[data-unit="{unit}"][data-metric="{metric}"]').strip()


def test_the_page_loads_with_no_console_error(page: tuple[Any, Console]):
    pg, console = page
    assert pg.title() == "Giám sát hồ sơ đất đai"
    assert pg.inner_text("#as-of") == "18:00 30/11/2023"
    assert "Cảnh báo mới nhất" in pg.inner_text("main")
    assert console.errors == []
    assert csp_violations(pg) == []


def test_every_time_is_vietnam_time_in_a_browser_elsewhere(browser: Any, worker: LiveWorker):
    """In New York (UTC-05:00 in November), the page still shows Asia/Ho_Chi_Minh times,
    the "lần cuối" clock included (the browser's clock pinned at 11:00:05 UTC = 18:00:05 +07)."""
    pg, console = new_page(browser, timezone_id="America/New_York")
    pg.clock.set_fixed_time(datetime.fromisoformat("2023-11-30T11:00:05+00:00"))
    sign_in(pg, worker.url, "totrinh")
    pg.wait_for_selector("#alerts li[data-alert-id]")
    # Functions, not expressions: Playwright evals an expression, which the page's CSP forbids.
    pg.wait_for_function("() => document.getElementById('status').textContent.includes('lần cuối')")
    assert pg.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
    assert pg.inner_text("#status") == "Tự cập nhật mỗi 2 giây · lần cuối 18:00:05"
    assert pg.inner_text("#as-of") == "18:00 30/11/2023"
    assert "10:00 30/11/2023" in pg.locator("#alerts li[data-alert-id]").first.inner_text()
    pg.fill("#search-input", B2)
    pg.click("#search-button")
    pg.wait_for_selector("#dossier-events li")
    assert pg.locator("#dossier-events time").all_inner_texts() == ["10:00 24/11/2023", "09:00 27/11/2023"]
    assert pg.inner_text("#dossier-due") == "10:00 01/12/2023"
    assert console.errors == [] and csp_violations(pg) == []
    pg.context.close()


def test_its_numbers_are_those_of_clickhouse(page: tuple[Any, Console], store: Path):
    pg, _ = page
    shown = {u: {m: int(cell(pg, u, m)) for m in METRICS} for u in EXPECTED_UNITS}
    assert shown == EXPECTED_UNITS
    open_in_store = dict(query(store, "SELECT toString(receiving_unit), count() FROM dossier.dossier_state FINAL "
                                      "WHERE finished_at IS NULL GROUP BY 1"))
    assert {u: shown[u]["open"] for u in shown} == open_in_store
    assert [cell(pg, "*", m) for m in METRICS] == ["9", "2", "3", "1", "1"]
    assert pg.inner_text(f'#units tr[data-unit="{B}"] th') == "Chi nhánh thị xã Hòa Thành"


def test_the_latest_alerts_are_listed(page: tuple[Any, Console], store: Path):
    pg, _ = page
    items = pg.locator("#alerts li[data-alert-id]")
    latest = query(store, "SELECT alert_id FROM dossier.alerts FINAL ORDER BY fires_at DESC, emitted_at DESC, alert_id")
    assert items.evaluate_all("els => els.map(e => e.dataset.alertId)") == [r[0] for r in latest]
    first = items.first.inner_text()
    assert "Sắp đến hạn" in first and B2 in first and "10:00 30/11/2023" in first


def test_the_chart_draws_each_branch_day_by_day(page: tuple[Any, Console]):
    pg, _ = page
    assert pg.inner_text("#chart-range") == "(02/10/2023 – 30/11/2023)"
    bars = pg.locator(f'#chart .unit-chart[data-unit="{A}"] rect[data-day]')
    assert bars.evaluate_all("els => els.map(e => [e.dataset.day, +e.dataset.rate])") == [["2023-11-27", 0.5]]
    b = pg.locator(f'#chart .unit-chart[data-unit="{B}"] rect[data-day="2023-11-28"]')
    assert b.get_attribute("data-rate") == "1"
    assert "60 ngày: 50,0% (1/2)" in pg.inner_text(f'#chart .unit-chart[data-unit="{A}"]')
    assert pg.locator(f'#chart .unit-chart[data-unit="{C}"] rect[data-day]').count() == 0


def test_the_dossier_search_shows_its_timeline(page: tuple[Any, Console]):
    pg, console = page
    pg.fill("#search-input", B2)
    pg.click("#search-button")
    pg.wait_for_selector("#dossier-events li")
    assert pg.inner_text("#dossier-title") == f"Hồ sơ {B2}"
    assert pg.locator("#dossier-events li").evaluate_all("els => els.map(e => e.dataset.type)") == ["received", "transferred"]
    assert pg.inner_text("#dossier-due") == "10:00 01/12/2023"
    hours = pg.locator("#dossier-hours tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.unit, ...[...r.cells].map(c => c.innerText)])")
    assert hours == [
        [B, "Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành", "7,0", "0,88"],
        [OFFICE, "Văn phòng Đăng ký đất đai tỉnh Tây Ninh (đang giữ)", "30,0", "3,75"],
    ]
    assert "Sắp đến hạn" in pg.inner_text("#dossier-alerts")
    assert "Không tạm dừng." in pg.inner_text("#dossier")
    assert console.errors == []


def test_a_partial_code_lists_matches_to_click(page: tuple[Any, Console]):
    pg, _ = page
    pg.fill("#search-input", "231124")
    pg.click("#search-button")
    pg.wait_for_selector("#dossier-body .matches button")
    assert pg.locator("#dossier-body .matches button").all_inner_texts() == [f"{A}-231124-0001", B2]
    pg.click(f'#dossier-body .matches button:text("{B2}")')
    pg.wait_for_selector(f'#dossier-title:text("Hồ sơ {B2}")')


def test_a_count_opens_the_list_of_its_dossiers(page: tuple[Any, Console]):
    pg, _ = page
    pg.click(f'#units td[data-unit="{A}"][data-metric="overdue"] button')
    pg.wait_for_selector("#list-body tbody tr")
    assert pg.inner_text("#list-title") == "Quá hạn — Chi nhánh thành phố Tây Ninh (1)"
    assert pg.locator("#list-body tbody tr td:first-child").all_inner_texts() == [A2]


def test_a_new_event_shows_up_without_a_reload(page: tuple[Any, Console], worker: LiveWorker, store: Path):
    pg, console = page
    pg.evaluate("window.__sameDocument = true")
    worker.produce([
        {"event_id": f"{NEW}:1", "event_type": "received", "dossier_id": NEW,
         "occurred_at": "2023-11-30T17:30:00+07:00", "agency_code": A, "procedure_code": "1.012713"},
        # After A2's due date: a late apology letter, an alert at once.
        {"event_id": f"{A2}:9", "event_type": "extended", "dossier_id": A2,
         "occurred_at": "2023-11-30T17:45:00+07:00", "agency_code": A, "new_due_at": "2023-12-05T17:00:00+07:00"},
    ])
    pg.wait_for_function(
        f"""() => document.querySelector('#units td[data-unit="{A}"][data-metric="open"]').innerText.trim() === "6" """,
        timeout=30_000)
    pg.wait_for_selector("#alerts li.fresh[data-kind=late_extension]", timeout=30_000)
    assert pg.evaluate("window.__sameDocument") is True
    assert A2 in pg.locator("#alerts li[data-alert-id]").first.inner_text()
    assert cell(pg, "*", "open") == "10"
    assert query(store, "SELECT count() FROM dossier.dossier_state FINAL WHERE receiving_unit = {u:String} "
                        "AND finished_at IS NULL", u=A) == [(6,)]
    assert console.errors == []
