"""Signed cookies: a person's session, and the sign-in form's CSRF token.

A session is a cookie the server signs (itsdangerous, HMAC-SHA256 over a key derived
from `DOSSIER_SESSION_SECRET` and a purpose salt) holding the user name, the user's
stamp (which changes with the password and on disable), a random session id (for
sign-out) and the session's CSRF token. Nothing is stored on the server but the ids
of sessions signed out before their time. The signature carries its time, and a
cookie older than the session's lifetime is refused whatever its Max-Age said.

Before sign-in there is no session, so the form's CSRF token is the double-submit
kind: the page sets a signed cookie with a random token and puts the same token in
a hidden field; `POST /login` must bring both, and only this site can read one and
set the other.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer

from stream_app.domain.access import User

SESSION_COOKIE = "dossier_session"
LOGIN_COOKIE = "dossier_login"
LOGIN_FORM_S = 3600  # a sign-in form left open longer than this asks again
MIN_SECRET = 32


@dataclass(frozen=True)
class Session:
    user: str
    stamp: str
    sid: str
    csrf: str
    issued_at: float


class SessionCodec:
    """Issues and reads the two signed cookies; `lifetime_s` bounds a session."""

    def __init__(self, secret: str, lifetime_s: float, *, wall: Callable[[], float] = time.time) -> None:
        if len(secret) < MIN_SECRET:
            raise ValueError(f"DOSSIER_SESSION_SECRET is too short: at least {MIN_SECRET} characters "
                             "(e.g. the output of `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        self.lifetime_s = lifetime_s
        self.wall = wall
        sha256 = {"digest_method": hashlib.sha256}
        self._sessions = URLSafeTimedSerializer(secret, salt="dossier-stream.session", signer_kwargs=sha256)
        self._forms = URLSafeTimedSerializer(secret, salt="dossier-stream.login-form", signer_kwargs=sha256)
        self._revoked: dict[str, float] = {}

    # ----------------------------------------------------------- sessions
    def issue(self, user: User) -> tuple[str, Session]:
        session = Session(user.name, user.stamp, secrets.token_urlsafe(16), secrets.token_urlsafe(24), self.wall())
        value = self._sessions.dumps({"u": session.user, "s": session.stamp, "i": session.sid, "c": session.csrf,
                                      "t": session.issued_at})
        return value, session

    def read(self, value: str | None) -> Session | None:
        """The session in a cookie: None if absent, forged, expired or signed out."""
        if not value:
            return None
        try:
            data = self._sessions.loads(value, max_age=self.lifetime_s)
            session = Session(str(data["u"]), str(data["s"]), str(data["i"]), str(data["c"]), float(data["t"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        if session.sid in self._revoked or self.wall() - session.issued_at > self.lifetime_s:
            return None
        return session

    def revoke(self, session: Session) -> None:
        """Sign a session out before its time (in this process; forgotten once it would have expired)."""
        now = self.wall()
        self._revoked = {sid: until for sid, until in self._revoked.items() if until > now}
        self._revoked[session.sid] = session.issued_at + self.lifetime_s

    # -------------------------------------------------------- sign-in form
    def form_token(self) -> tuple[str, str]:
        """(the cookie value, the token for the form's hidden field)."""
        token = secrets.token_urlsafe(24)
        return self._forms.dumps(token), token

    def form_token_matches(self, cookie: str | None, field: str | None) -> bool:
        if not cookie or not field:
            return False
        try:
            token = self._forms.loads(cookie, max_age=LOGIN_FORM_S)
        except BadSignature:
            return False
        return isinstance(token, str) and secrets.compare_digest(token, field)
