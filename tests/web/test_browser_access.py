"""Signing in and out, and who sees what, in a real headless Chromium (see `browser`)
against a real worker on the crafted store (conftest); the Content-Security-Policy
holds: the page raises no violation, and an inline script is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.web.browser import browser, chromium, csp_violations, new_page, sign_in  # noqa: F401
from tests.web.conftest import B2, EXPECTED_UNITS, A, LiveWorker, copy_store, live_worker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

METRICS = ["open", "due_soon", "overdue", "open_after_completion", "tax_overdue"]


@pytest.fixture(scope="module")
def worker(crafted_store: Path, users_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    store = copy_store(crafted_store, tmp_path_factory.mktemp("web-browser-access") / "store")
    with live_worker(store, users_file) as w:
        yield w


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Any]]:
    pg, console = new_page(browser)
    yield pg, console
    pg.context.close()


def test_without_a_session_the_page_opens_the_sign_in_form_in_vietnamese(page: tuple[Any, Any], worker: LiveWorker):
    pg, console = page
    pg.goto(worker.url + "/")
    assert pg.url == worker.url + "/login"
    assert pg.title() == "Đăng nhập — Giám sát hồ sơ đất đai"
    assert pg.locator("label").all_inner_texts() == ["Tên đăng nhập", "Mật khẩu"]
    assert pg.inner_text("#signin-button") == "Đăng nhập"
    assert console.errors == [] and csp_violations(pg) == []


def test_a_wrong_password_is_refused_on_the_sign_in_page(page: tuple[Any, Any], worker: LiveWorker):
    pg, console = page
    sign_in(pg, worker.url, "tayninh", "not-the-password")
    assert pg.url == worker.url + "/login"
    assert pg.inner_text("#message") == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert pg.input_value("#username") == "tayninh" and pg.input_value("#password") == ""
    # The browser reports the 401 of the refused sign-in itself; nothing else.
    assert [e for e in console.errors if "status of 401" not in e] == [] and csp_violations(pg) == []


def test_signing_in_shows_who_and_signing_out_returns_to_the_sign_in_page(page: tuple[Any, Any], worker: LiveWorker):
    pg, console = page
    sign_in(pg, worker.url, "totrinh")
    pg.wait_for_selector("#user:not([hidden])")
    assert pg.url == worker.url + "/"
    assert (pg.inner_text("#user-name"), pg.inner_text("#user-scope")) == ("totrinh", "Toàn tỉnh")
    pg.click("#signout-button")
    pg.wait_for_url(worker.url + "/login?signed_out=1")
    assert pg.inner_text("#message") == "Bạn đã đăng xuất."
    pg.goto(worker.url + "/")
    assert pg.url == worker.url + "/login"
    assert console.errors == [] and csp_violations(pg) == []


def test_a_unit_user_sees_only_its_units_on_the_page(page: tuple[Any, Any], worker: LiveWorker):
    pg, console = page
    sign_in(pg, worker.url, "tayninh")
    pg.wait_for_selector(f'#units td[data-unit="{A}"][data-metric="open"]')
    pg.wait_for_selector("#chart .unit-chart")
    pg.wait_for_selector("#alerts li[data-alert-id]")
    assert pg.inner_text("#user-scope") == "Chi nhánh thành phố Tây Ninh"
    assert pg.locator("#units tbody tr").evaluate_all("rows => rows.map(r => r.dataset.unit)") == [A]
    assert [pg.inner_text(f'#units tfoot td[data-metric="{m}"]') for m in METRICS] == [
        str(EXPECTED_UNITS[A][m]) for m in METRICS]
    assert pg.locator("#chart .unit-chart").evaluate_all("els => els.map(e => e.dataset.unit)") == [A]
    shown = pg.locator("#alerts li[data-alert-id] .alert-foot button").all_inner_texts()
    assert shown and {code[:13] for code in shown} == {A}
    pg.fill("#search-input", B2)
    pg.click("#search-button")
    pg.wait_for_selector(f'#dossier-title:text("Không tìm thấy hồ sơ “{B2}”")')
    assert pg.inner_text("#dossier-body") == "Không có hồ sơ nào có mã chứa chuỗi này."
    assert console.errors == [] and csp_violations(pg) == []


def test_a_session_that_ends_sends_the_open_page_back_to_the_sign_in_form(page: tuple[Any, Any], worker: LiveWorker):
    pg, _ = page
    sign_in(pg, worker.url, "totrinh")
    pg.wait_for_selector("#units tbody tr[data-unit]")
    pg.context.clear_cookies()
    pg.wait_for_url(worker.url + "/login", timeout=10_000)  # at the next poll, within 2 s


def test_the_content_security_policy_refuses_an_inline_script(page: tuple[Any, Any], worker: LiveWorker):
    pg, _ = page
    sign_in(pg, worker.url, "totrinh")
    pg.wait_for_selector("#units tbody tr[data-unit]")
    assert csp_violations(pg) == []
    ran = pg.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__inline = true";
        document.body.append(s);
        return window.__inline === true;
    }""")
    assert ran is False
    pg.wait_for_function("() => window.__csp.length > 0")
    assert csp_violations(pg) == ["script-src-elem inline"]
