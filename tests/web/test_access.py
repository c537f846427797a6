"""Only the people who belong, over HTTP: sign-in and sign-out, the API refused without a
session, wrong passwords refused and rate-limited, CSRF, the security headers, and every
endpoint cut to the user's units — against a real worker on the crafted store (conftest).

The worker trusts 127.0.0.1 as its reverse proxy, so each test that counts failures
names its own caller address in X-Forwarded-For (documentation addresses, RFC 5737).
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import orjson
import pytest

from stream_app.access.users import UserFile
from stream_app.domain.access import Scope
from tests.web.conftest import (
    A1,
    A2,
    B1,
    B2,
    C1,
    EXPECTED_UNITS,
    USERS,
    A,
    B,
    C,
    Client,
    LiveWorker,
    copy_store,
    get,
    live_worker,
)

pytestmark = pytest.mark.integration

PER_USER, PER_ADDRESS = 5, 8
LOCKED_OUT = "mat-khau-dung-nhung-muon"
API = ["/api/live", "/api/chart", f"/api/dossier?code={A2}", "/api/search?q=2311",
       f"/api/dossiers?unit={A}&metric=open", "/api/me"]
ZERO = dict.fromkeys(["open", "due_soon", "overdue", "open_after_completion", "tax_overdue"], 0)


@pytest.fixture(scope="module")
def users(users_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's user file, plus a user for the lock-out: these tests change it."""
    path = Path(shutil.copy(users_file, tmp_path_factory.mktemp("web-access") / "users.json"))
    UserFile(path).add("bikhoa", Scope.of([B]), LOCKED_OUT)
    UserFile(path).add("dongloat", Scope.of([B]), LOCKED_OUT)
    return path


@pytest.fixture(scope="module")
def worker(crafted_store: Path, users: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    store = copy_store(crafted_store, tmp_path_factory.mktemp("web-access-store") / "store")
    with live_worker(store, users, web_trusted_proxies="127.0.0.1", login_failures_per_user=PER_USER,
                     login_failures_per_address=PER_ADDRESS) as w:
        yield w


def units(client: Client) -> dict[str, dict[str, int]]:
    return {u["unit"]: {m: u[m] for m in ZERO} for u in client.get_json("/api/live")["units"]}


def session_cookie(client: Client) -> str:
    return next(c.value for c in client.jar if c.name == "dossier_session")


# ------------------------------------------------------------------ no session
@pytest.mark.parametrize("path", API)
def test_without_a_session_every_api_endpoint_answers_401(worker: LiveWorker, path: str):
    status, headers, body = worker.client(None).get(path)
    assert (status, headers["Content-Type"]) == (401, "application/json; charset=utf-8")
    assert orjson.loads(body) == {"error": "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
                                  "login": "/login"}


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/nowhere"])
def test_without_a_session_a_page_redirects_to_the_sign_in_page(worker: LiveWorker, path: str):
    status, headers, _ = worker.client(None).get(path)
    assert (status, headers["Location"]) == (303, "/login")


def test_the_sign_in_page_is_in_vietnamese_and_has_no_script(worker: LiveWorker):
    status, headers, body = worker.client(None).get("/login")
    text = body.decode()
    assert status == 200 and 'lang="vi"' in text and "<script" not in text
    for words in ("Tên đăng nhập", "Mật khẩu", "Đăng nhập", 'name="username"', 'name="password"', 'name="csrf_token"'):
        assert words in text
    assert "HttpOnly" in headers["Set-Cookie"] and headers["Cache-Control"] == "no-store"


# ----------------------------------------------------------- signing in and out
def test_signing_in_sets_a_signed_httponly_samesite_session_cookie_with_an_expiry(worker: LiveWorker):
    client = Client(worker.url)
    status, headers, _ = client.sign_in("totrinh")
    assert (status, headers["Location"]) == (303, "/")
    cookie = next(c for c in headers.get_all("Set-Cookie") if c.startswith("dossier_session="))
    assert {p.strip() for p in cookie.split(";")[1:]} >= {"HttpOnly", "Max-Age=36000", "Path=/", "SameSite=Lax"}
    assert client.get_json("/api/me") == {"user": "totrinh", "role": "task_force", "all_units": True, "units": [],
                                          "csrf_token": client.csrf}
    assert client.get("/")[0] == 200


def test_a_wrong_password_is_refused(worker: LiveWorker):
    client = Client(worker.url, "198.51.100.1")
    status, headers, body = client.sign_in("tayninh", "not-the-password")
    assert status == 401 and "Tên đăng nhập hoặc mật khẩu không đúng." in body.decode()
    assert not any(c.startswith("dossier_session=") for c in headers.get_all("Set-Cookie"))
    assert client.get("/api/live")[0] == 401


def test_an_unknown_user_is_refused_like_a_wrong_password(worker: LiveWorker):
    """Nothing tells a name that exists from one that does not (the same status and message)."""
    wrong = Client(worker.url, "198.51.100.2").sign_in("tayninh", "not-the-password")
    unknown = Client(worker.url, "198.51.100.2").sign_in("nobody", "not-the-password")
    assert unknown[0] == wrong[0] == 401
    message = 'role="alert">Tên đăng nhập hoặc mật khẩu không đúng.</p>'
    assert message in unknown[2].decode() and message in wrong[2].decode()


def test_failed_sign_ins_are_rate_limited_per_user(worker: LiveWorker):
    for i in range(PER_USER):
        assert Client(worker.url, f"198.51.100.{10 + i}").sign_in("bikhoa", f"guess-number-{i}")[0] == 401
    status, headers, body = Client(worker.url, "198.51.100.20").sign_in("bikhoa", LOCKED_OUT)  # the right one
    assert status == 429 and int(headers["Retry-After"]) > 800
    assert "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút." in body.decode()
    assert Client(worker.url, "198.51.100.20").sign_in("tayninh")[0] == 303  # another user is not locked


def test_guesses_sent_all_at_once_are_held_to_the_limit_too(worker: LiveWorker):
    """Twelve wrong passwords for one user at the same moment: at most the limit, plus the one
    check already running beside it, are tried; the others are refused unchecked."""
    clients = [Client(worker.url, f"198.51.100.{100 + i}") for i in range(12)]
    tokens = [c.form_token() for c in clients]
    start = threading.Barrier(len(clients))

    def guess(i: int) -> int:
        start.wait()
        return clients[i].request("POST", "/login", {"csrf_token": tokens[i], "username": "dongloat",
                                                     "password": f"guess-{i:02d}-at-once"})[0]

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = sorted(pool.map(guess, range(len(clients))))
    assert PER_USER <= answers.count(401) <= PER_USER + 1
    assert answers.count(429) == len(clients) - answers.count(401)


def test_failed_sign_ins_are_rate_limited_per_address(worker: LiveWorker):
    for i in range(PER_ADDRESS):
        assert Client(worker.url, "203.0.113.7").sign_in(f"made-up-{i}", "guess")[0] == 401
    assert Client(worker.url, "203.0.113.7").sign_in("hoathanh")[0] == 429
    assert Client(worker.url, "203.0.113.8").sign_in("hoathanh")[0] == 303


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(worker: LiveWorker):
    client = worker.client("totrinh")
    copy = Client(worker.url)
    copy.jar.set_cookie(next(c for c in client.jar if c.name == "dossier_session"))
    assert copy.get("/api/live")[0] == 200
    status, headers, _ = client.request("POST", "/logout", {"csrf_token": client.csrf})
    assert (status, headers["Location"]) == (303, "/login?signed_out=1")
    assert client.get("/api/live")[0] == 401 and copy.get("/api/live")[0] == 401
    assert "Bạn đã đăng xuất." in client.get("/login?signed_out=1")[2].decode()


def test_a_tampered_session_cookie_is_refused(worker: LiveWorker):
    client = worker.client("tayninh")
    cookie = next(c for c in client.jar if c.name == "dossier_session")
    cookie.value = cookie.value.replace("tayninh", "totrinh")[:-2] + "xx"
    assert client.get("/api/me")[0] == 401


# ------------------------------------------------------------------------ CSRF
def test_signing_out_needs_the_sessions_csrf_token(worker: LiveWorker):
    client = worker.client("totrinh")
    assert client.request("POST", "/logout", {})[0] == 403
    assert client.request("POST", "/logout", {"csrf_token": "forged"})[0] == 403
    assert client.get("/api/live")[0] == 200


@pytest.mark.parametrize("header", [{"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_a_post_from_another_site_is_refused_even_with_the_token(worker: LiveWorker, header: dict[str, str]):
    client = worker.client("totrinh")
    assert client.request("POST", "/logout", {"csrf_token": client.csrf}, header)[0] == 403
    assert client.get("/api/live")[0] == 200


def test_a_sign_in_without_the_forms_token_is_refused(worker: LiveWorker):
    client = Client(worker.url)
    status, headers, _ = client.request("POST", "/login", {"username": "totrinh", "password": USERS["totrinh"][1]})
    assert (status, headers["Location"]) == (303, "/login?expired=1")
    assert client.get("/api/live")[0] == 401
    assert "Trang đăng nhập đã hết hạn" in client.get("/login?expired=1")[2].decode()


# -------------------------------------------------------------- who sees what
def test_a_unit_user_sees_only_its_units_counts_alerts_and_chart(worker: LiveWorker):
    client = worker.client("tayninh")
    live = client.get_json("/api/live")
    assert units(client) == {A: EXPECTED_UNITS[A]}
    assert live["totals"] == EXPECTED_UNITS[A]
    assert live["alerts"] and {a["dossier_id"][:13] for a in live["alerts"]} == {A}
    assert [u["unit"] for u in client.get_json("/api/chart")["units"]] == [A]
    assert client.get_json("/api/me")["units"] == [
        {"unit": A, "name": "Chi nhánh thành phố Tây Ninh", "full_name": "Chi nhánh Văn phòng Đăng ký đất đai "
                                                                         "thành phố Tây Ninh"}]


def test_a_unit_user_gets_404_for_another_units_dossier_as_for_none(worker: LiveWorker):
    client = worker.client("tayninh")
    assert client.get_json(f"/api/dossier?code={A2}")["found"] is True
    assert client.get_json(f"/api/dossier?code={B1}", status=404) == {"found": False, "code": B1, "matches": []}
    missing = f"{A}-231131-0009"
    assert client.get_json(f"/api/dossier?code={missing}", status=404) == {"found": False, "code": missing,
                                                                          "matches": []}
    assert client.get_json("/api/search?q=231124") == {"q": "231124", "exact": False, "matches": [A1]}
    assert client.get_json(f"/api/search?q={B2}") == {"q": B2, "exact": False, "matches": []}


def test_a_unit_user_lists_no_dossier_of_another_unit(worker: LiveWorker):
    client = worker.client("tayninh")
    assert client.get_json(f"/api/dossiers?unit={B}&metric=open")["dossiers"] == []
    assert [d["dossier_id"] for d in client.get_json(f"/api/dossiers?unit={A}&metric=overdue")["dossiers"]] == [A2]


def test_the_office_sees_the_dossier_a_branch_sent_it_and_nothing_else(worker: LiveWorker):
    """B2 was received by B and transferred to the OFFICE: its current unit is the office's."""
    client = worker.client("vanphong", "192.0.2.50")
    assert units(client) == {B: {**ZERO, "open": 1, "due_soon": 1}}
    assert {a["dossier_id"] for a in client.get_json("/api/live")["alerts"]} == {B2}
    assert client.get_json(f"/api/dossier?code={B2}")["current_unit"] == "000.22.31.H53"
    assert client.get(f"/api/dossier?code={B1}")[0] == 404
    assert [d["dossier_id"] for d in client.get_json(f"/api/dossiers?unit={B}&metric=due_soon")["dossiers"]] == [B2]


def test_a_user_of_two_units_sees_both(worker: LiveWorker):
    client = worker.client("hoathanh", "192.0.2.51")
    assert units(client) == {B: EXPECTED_UNITS[B], C: EXPECTED_UNITS[C]}
    assert client.get_json(f"/api/dossier?code={C1}")["found"] is True


# ------------------------------------------------- the user file, changed live
def test_a_disabled_user_is_signed_out_at_their_next_request(worker: LiveWorker, users: Path):
    client = worker.client("hoathanh", "192.0.2.52")
    UserFile(users).set_disabled("hoathanh", True)
    try:
        assert client.get("/api/live")[0] == 401
        assert Client(worker.url, "192.0.2.52").sign_in("hoathanh")[0] == 401
    finally:
        UserFile(users).set_disabled("hoathanh", False)
    assert Client(worker.url, "192.0.2.52").sign_in("hoathanh")[0] == 303


def test_a_new_password_ends_older_sessions(worker: LiveWorker, users: Path):
    UserFile(users).add("nguoimoi", Scope.of([C]), "mat-khau-dau-tien-2023")
    client = Client(worker.url, "192.0.2.53")
    assert client.sign_in("nguoimoi", "mat-khau-dau-tien-2023")[0] == 303
    UserFile(users).set_password("nguoimoi", "mat-khau-thu-hai-2023")
    assert client.get("/api/live")[0] == 401
    assert Client(worker.url, "192.0.2.53").sign_in("nguoimoi", "mat-khau-thu-hai-2023")[0] == 303


def test_a_script_token_reads_its_users_api_and_nothing_more(worker: LiveWorker, users: Path):
    token = UserFile(users).issue_token("tayninh")
    script = Client(worker.url, "192.0.2.54")
    bearer = {"Authorization": f"Bearer {token}"}
    status, _, body = script.request("GET", "/api/live", headers=bearer)
    assert status == 200 and {u["unit"] for u in orjson.loads(body)["units"]} == {A}
    assert script.request("GET", "/", headers=bearer)[0] == 303  # the page is for people
    assert script.request("POST", "/logout", {}, headers=bearer)[0] == 401  # tokens only read
    assert script.request("GET", "/api/live", headers={"Authorization": "Bearer dst_wrong"})[0] == 401
    UserFile(users).revoke_token("tayninh")
    assert script.request("GET", "/api/live", headers=bearer)[0] == 401


# --------------------------------------------------------------------- headers
@pytest.mark.parametrize("path", ["/", "/login", "/static/style.css", "/static/app.js", "/api/live", "/nowhere"])
def test_every_answer_carries_the_security_headers(worker: LiveWorker, path: str):
    for client in (worker.client("totrinh"), worker.client(None)):
        _, headers, _ = client.get(path)
        assert headers["Content-Security-Policy"] == (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        assert (headers["X-Frame-Options"], headers["X-Content-Type-Options"], headers["Referrer-Policy"]) == (
            "DENY", "nosniff", "same-origin")


@pytest.mark.parametrize("path", ["/api/live", "/api/chart", f"/api/dossier?code={A2}", "/api/me"])
def test_api_answers_are_never_stored(worker: LiveWorker, path: str):
    assert worker.client("totrinh").get(path)[1]["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/router/", "/table/", "/stats/", "/assignment/", "/graph/"])
def test_fausts_own_endpoints_are_not_served(worker: LiveWorker, path: str):
    assert worker.client("totrinh").get(path)[0] == 404


@pytest.mark.parametrize("name", ["index.html", "login.html"])
def test_the_pages_have_no_inline_script_style_or_handler(name: str):
    text = (Path(__file__).resolve().parents[2] / "stream_app" / "web" / "static" / name).read_text("utf-8")
    assert "<script>" not in text and "<style" not in text and " style=" not in text
    assert not [a for a in ("onclick=", "onload=", "onsubmit=", "javascript:") if a in text]
    assert text.count("<script") == text.count('<script src="/static/app.js"></script>')


def test_the_sign_in_page_needs_no_session(worker: LiveWorker):
    assert get(worker.url + "/login")[0] == 200 and get(worker.url + "/static/style.css")[0] == 200
