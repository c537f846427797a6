"""The gate in front of every answer of the worker's web server: who is asking, whether
they may, and the headers that keep a browser safe.

`Guard.middleware` (an aiohttp middleware, given to the Faust app when it is built)
sees every request, the page's and Faust's own. A route is one of three kinds:

- public: the sign-in page and its style sheet (`PUBLIC`), nothing else;
- machine: a route that authenticates its caller itself (a shared-secret header, a
  signature), named by the job in `machine_routes`: no session and no CSRF token are
  asked for, and its handler must refuse what it cannot authenticate;
- every other route: a valid session cookie (`sessions`), or for `GET /api/…` a
  script token (`Authorization: Bearer …`). Without one, `/api/…` and any other
  method answer 401, a page redirects to `/login`.

A state-changing request (any method but GET, HEAD, OPTIONS) that is not a machine
route must come from this site (`Sec-Fetch-Site`, else `Origin`) and bring the CSRF
token of its session (header `X-CSRF-Token` or form field `csrf_token`; for the
sign-in form, the token of its signed cookie). Every answer gets the security
headers (`HEADERS`, a Content-Security-Policy without inline script or outside
source); API answers, the sign-in page and anything that sets a cookie also
`Cache-Control: no-store`.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any, Awaitable, Callable, Iterable, Protocol
from urllib.parse import urlsplit

import orjson
import structlog
from aiohttp import web

from stream_app.domain.access import User
from stream_app.web.sessions import LOGIN_COOKIE, SESSION_COOKIE, Session, SessionCodec
from stream_app.web.throttle import Throttle

log = structlog.get_logger(__name__)

PUBLIC = frozenset({"/login", "/static/style.css"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on a form POST.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
NOT_SIGNED_IN = "Chưa đăng nhập hoặc phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại."
FORBIDDEN = "Yêu cầu bị từ chối: thiếu mã xác thực của phiên (CSRF). Vui lòng tải lại trang."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What the guard leaves on an admitted request for the views: who, and by which session
# (None for a script token).
USER = web.RequestKey("user", User)
SESSION = web.RequestKey("session", Session)


class Verdict(Protocol):
    user: User | None
    reason: str


class Accounts(Protocol):
    """The page's port to the user file (implemented by `access.users.UserFile`)."""

    def get(self, name: str) -> User | None: ...
    def verify(self, name: str, password: str) -> Verdict: ...
    def by_token(self, token: str) -> User | None: ...
    def any_enabled(self) -> bool: ...


class Guard:
    """Sign-in state, CSRF and headers for every request; see the module docstring."""

    def __init__(
        self, accounts: Accounts, codec: SessionCodec, *, per_user: Throttle, per_address: Throttle,
        secure_cookies: bool = False, trusted_proxies: Iterable[Any] = (), machine_routes: Iterable[str] = (),
    ) -> None:
        self.accounts = accounts
        self.codec = codec
        self.per_user = per_user
        self.per_address = per_address
        self.secure_cookies = secure_cookies
        self.trusted_proxies = tuple(trusted_proxies)
        self.machine_routes = frozenset(machine_routes)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await self._admit(request, handler)
        except web.HTTPException as exc:  # the router's 404/405: headers on those too
            self._headers(request, exc)
            raise
        self._headers(request, response)
        return response

    async def _admit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path, unsafe = request.path, request.method not in SAFE_METHODS
        if path in self.machine_routes:
            return await handler(request)
        if path in PUBLIC:
            if unsafe and not await self._form_csrf_ok(request):
                self._log_csrf(request, None)
                # A sign-in form without its cookie or left open too long: a fresh form, said why.
                return web.Response(status=303, headers={"Location": "/login?expired=1"})
            return await handler(request)
        user, session = self.identify(request)
        if user is None:
            return self._unauthorised(request)
        if unsafe and (session is None or not await self._session_csrf_ok(request, session)):
            return self._forbidden(request, user)
        request[USER] = user
        if session is not None:
            request[SESSION] = session
        return await handler(request)

    # -------------------------------------------------------------- who asks
    def identify(self, request: web.Request) -> tuple[User | None, Session | None]:
        """The user of a valid session cookie, or of a script token on a GET of the API."""
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            return self._by_token(request, authorization), None
        session = self.codec.read(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None, None
        user = self.accounts.get(session.user)
        if user is None or user.disabled or not secrets.compare_digest(user.stamp, session.stamp):
            return None, None
        return user, session

    def _by_token(self, request: web.Request, authorization: str) -> User | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not request.path.startswith("/api/") or request.method not in SAFE_METHODS:
            return None
        address = self.client_address(request)
        if self.per_address.wait_s(address):
            log.warning("auth.refused", reason="rate_limited", address=address, via="token")
            return None
        user = self.accounts.by_token(token.strip())
        if user is None:
            self.per_address.fail(address)
            log.warning("auth.refused", reason="bad_token", address=address, via="token")
        return user

    def client_address(self, request: web.Request) -> str:
        """The caller's address: the peer, or behind a trusted proxy the last untrusted X-Forwarded-For hop."""
        peer = request.remote or ""
        if not self._trusted(peer):
            return peer
        hops = [h.strip() for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_proxies)

    # ------------------------------------------------------------------ CSRF
    @staticmethod
    def same_site(request: web.Request) -> bool:
        """Whether a browser says the request comes from this site (a non-browser says nothing)."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site in ("same-origin", "none")
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        return origin != "null" and urlsplit(origin).netloc.lower() == request.host.lower()

    async def _submitted_token(self, request: web.Request) -> str | None:
        token = request.headers.get("X-CSRF-Token")
        if token is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            value = (await request.post()).get("csrf_token")
            token = value if isinstance(value, str) else None
        return token

    async def _form_csrf_ok(self, request: web.Request) -> bool:
        return self.same_site(request) and self.codec.form_token_matches(
            request.cookies.get(LOGIN_COOKIE), await self._submitted_token(request))

    async def _session_csrf_ok(self, request: web.Request, session: Session) -> bool:
        token = await self._submitted_token(request)
        return self.same_site(request) and token is not None and secrets.compare_digest(token, session.csrf)

    # ------------------------------------------------------------- answers
    def _unauthorised(self, request: web.Request) -> web.Response:
        if request.path.startswith("/api/") or request.method not in SAFE_METHODS:
            response = json_response({"error": NOT_SIGNED_IN, "login": "/login"}, 401)
            response.headers["WWW-Authenticate"] = 'Bearer realm="dossier-stream"'
        else:
            response = web.Response(status=303, headers={"Location": "/login"})
        if request.cookies.get(SESSION_COOKIE):
            self.clear_cookie(response, SESSION_COOKIE)
        return response

    def _forbidden(self, request: web.Request, user: User | None) -> web.Response:
        self._log_csrf(request, user)
        return json_response({"error": FORBIDDEN}, 403)

    def _log_csrf(self, request: web.Request, user: User | None) -> None:
        log.warning("auth.refused", reason="csrf", user=user.name if user else None,
                    address=self.client_address(request), path=request.path)

    def set_cookie(self, response: web.StreamResponse, name: str, value: str, max_age_s: float) -> None:
        response.set_cookie(name, value, max_age=int(max_age_s), path="/", httponly=True, samesite="Lax",
                            secure=self.secure_cookies)

    def clear_cookie(self, response: web.StreamResponse, name: str) -> None:
        response.del_cookie(name, path="/", secure=self.secure_cookies, httponly=True, samesite="Lax")

    @staticmethod
    def _headers(request: web.Request, response: web.StreamResponse) -> None:
        for key, value in HEADERS.items():
            response.headers[key] = value
        if request.path.startswith("/api/") or request.path in PUBLIC - {"/static/style.css"} \
                or response.cookies or request.path == "/logout":
            response.headers["Cache-Control"] = "no-store"


def json_response(value: Any, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json", charset="utf-8")

