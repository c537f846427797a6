"""Signing in and out of the live page, and who is signed in.

| path | does |
| --- | --- |
| `GET /login` | the sign-in page in Vietnamese (works without JavaScript); signed in already: to `/` |
| `POST /login` | form fields `username`, `password`, `csrf_token`: sets the session cookie, to `/`; a wrong name or password 401, too many failures 429 |
| `POST /logout` | ends the session (CSRF token required), to `/login` |
| `GET /api/me` | the signed-in user: name, role, units, the session's CSRF token |

A password is checked in a worker thread (argon2 takes ~0.2 s and 64 MiB), two at
a time at most so that a flood of attempts cannot exhaust memory; failures count
per user name and per address (`Throttle`), and while either is over its limit the
password is not even checked. Sign-ins and refusals are logged with the user name
and address, never the password; a name that is not a user is logged as
`<unknown>` (people type their password into the name field).
"""

from __future__ import annotations

import asyncio
import html
import math
from importlib import resources
from string import Template

import faust
import structlog
from aiohttp import web
from faust.web import Request, Response, View

from stream_app.domain.access import User
from stream_app.domain.directory import Directory
from stream_app.web.guard import SESSION, USER, Guard, json_response
from stream_app.web.sessions import LOGIN_COOKIE, LOGIN_FORM_S, SESSION_COOKIE

log = structlog.get_logger(__name__)

CONCURRENT_CHECKS = 2
MAX_NAME, MAX_PASSWORD = 64, 1024
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."
EMPTY = "Vui lòng nhập tên đăng nhập và mật khẩu."
EXPIRED = "Trang đăng nhập đã hết hạn. Vui lòng đăng nhập lại."
SIGNED_OUT = "Bạn đã đăng xuất."


def too_many(wait_s: float) -> str:
    return f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {max(1, math.ceil(wait_s / 60))} phút."


def register_signin(app: faust.App, guard: Guard, directory: Directory) -> None:
    """Add the sign-in page, sign-in, sign-out and `/api/me` to the worker's web server."""
    template = Template(resources.files("stream_app.web").joinpath("static", "login.html").read_text("utf-8"))
    checks = asyncio.Semaphore(CONCURRENT_CHECKS)

    def page(status: int, message: str = "", username: str = "") -> web.Response:
        cookie, token = guard.codec.form_token()
        body = template.safe_substitute(message=html.escape(message), csrf_token=html.escape(token),
                                        username=html.escape(username), kind="info" if status == 200 else "error",
                                        # The name kept after a refusal: the cursor goes to the password.
                                        focus_name="" if username else "autofocus",
                                        focus_password="autofocus" if username else "")
        response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
        guard.set_cookie(response, LOGIN_COOKIE, cookie, LOGIN_FORM_S)
        return response

    @app.page("/login")
    class SignIn(View):
        async def get(self, request: Request) -> Response:
            if guard.identify(request)[0] is not None:
                return web.Response(status=303, headers={"Location": "/"})
            notes = {"expired": EXPIRED, "signed_out": SIGNED_OUT}
            return page(200, next((m for k, m in notes.items() if k in request.query), ""))

        async def post(self, request: Request) -> Response:
            form = await request.post()
            name = str(form.get("username") or "").strip().lower()
            password = str(form.get("password") or "")
            address = guard.client_address(request)

            def locked() -> web.Response | None:
                wait = max(guard.per_user.wait_s(name), guard.per_address.wait_s(address))
                if not wait:
                    return None
                log.warning("auth.refused", reason="rate_limited", user=_shown(guard, name), address=address)
                response = page(429, too_many(wait), name)
                response.headers["Retry-After"] = str(math.ceil(wait))
                return response

            if (refused := locked()) is not None:
                return refused
            if not name or not password or len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
                return page(400, EMPTY, name[:MAX_NAME])
            async with checks:
                # Again when its turn comes: attempts sent at once must not all pass the first look.
                if (refused := locked()) is not None:
                    return refused
                verdict = await asyncio.to_thread(guard.accounts.verify, name, password)
                if verdict.user is None:
                    guard.per_user.fail(name)
                    guard.per_address.fail(address)
            if verdict.user is None:
                log.warning("auth.refused", reason=verdict.reason, user=_shown(guard, name), address=address)
                return page(401, WRONG, name)
            guard.per_user.clear(name)
            value, _ = guard.codec.issue(verdict.user)
            log.info("auth.signed_in", user=name, role=verdict.user.scope.role, address=address)
            response = web.Response(status=303, headers={"Location": "/"})
            guard.set_cookie(response, SESSION_COOKIE, value, guard.codec.lifetime_s)
            guard.clear_cookie(response, LOGIN_COOKIE)
            return response

    @app.page("/logout")
    class SignOut(View):
        async def post(self, request: Request) -> Response:
            user, session = request.get(USER), request.get(SESSION)
            if session is not None:
                guard.codec.revoke(session)
            log.info("auth.signed_out", user=user.name if isinstance(user, User) else None,
                     address=guard.client_address(request))
            response = web.Response(status=303, headers={"Location": "/login?signed_out=1"})
            guard.clear_cookie(response, SESSION_COOKIE)
            return response

    @app.page("/api/me")
    async def api_me(self: View, request: Request) -> Response:
        user, session = request[USER], request.get(SESSION)
        units = sorted(user.scope.units or ())
        return json_response({
            "user": user.name,
            "role": user.scope.role,
            "all_units": user.scope.all_units,
            "units": [{"unit": u, "name": directory.short_name(u), "full_name": directory.unit_name(u)} for u in units],
            "csrf_token": session.csrf if session is not None else None,
        }, 200)


def _shown(guard: Guard, name: str) -> str:
    """The name for the log: a user's, else `<unknown>` (it may be a mistyped password)."""
    return name if name and guard.accounts.get(name) is not None else "<unknown>"
