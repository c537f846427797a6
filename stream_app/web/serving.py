"""Whether the page may be served, and the guard the settings describe.

A worker asked to serve the page beyond loopback while the user file has no enabled
user refuses to start (`Unprotected`, a ValueError: exit 2 with its message); on
loopback it starts and says that nobody can sign in yet. `build_guard` turns the
settings into the `Guard`: the session key (or a random one, said in the log), the
session's lifetime, the failure limits, Secure cookies, the trusted proxies and the
routes that authenticate their callers themselves.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from typing import Iterable

import structlog

from stream_app.settings import Settings
from stream_app.web.guard import Accounts, Guard
from stream_app.web.sessions import SessionCodec
from stream_app.web.throttle import Throttle

log = structlog.get_logger(__name__)


class Unprotected(ValueError):
    """The page would answer beyond this machine with nobody able to sign in."""


def is_loopback(bind: str) -> bool:
    if bind in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


def check_protected(bind: str, accounts: Accounts, users_path: str) -> None:
    """Refuse to serve the page on a non-loopback address while no enabled user exists."""
    if accounts.any_enabled():
        return
    if not is_loopback(bind):
        raise Unprotected(
            f"the live page would listen on {bind} (DOSSIER_WEB_BIND) and nobody can sign in: add the first user "
            f"with `dossier-stream users add NAME --all` (user file {users_path}, DOSSIER_USERS), "
            f"or serve it on 127.0.0.1")
    log.warning("web.no_users", users=users_path, hint="dossier-stream users add NAME --all")


def networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or networks (DOSSIER_WEB_TRUSTED_PROXIES)."""
    try:
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())
    except ValueError as exc:
        raise ValueError(f"DOSSIER_WEB_TRUSTED_PROXIES: {exc}") from None


def build_guard(settings: Settings, accounts: Accounts, *, machine_routes: Iterable[str] = ()) -> Guard:
    """The guard the settings describe. Without DOSSIER_SESSION_SECRET the key is drawn at
    random for this process: sessions then end when it stops, and each worker has its own."""
    if settings.session_secret is None:
        secret = secrets.token_urlsafe(32)
        log.warning("web.session_secret_unset", effect="sessions end when this worker stops",
                    variable=settings.env_var("session_secret"))
    else:
        secret = settings.session_secret.get_secret_value()
    window_s = settings.login_window_min * 60
    return Guard(
        accounts, SessionCodec(secret, settings.session_hours * 3600, wall=time.time),
        per_user=Throttle(settings.login_failures_per_user, window_s),
        per_address=Throttle(settings.login_failures_per_address, window_s),
        secure_cookies=settings.web_secure_cookies, trusted_proxies=networks(settings.web_trusted_proxies),
        machine_routes=machine_routes,
    )
