"""Signed cookies: a session holds its user and stamp, expires, cannot be forged or
edited, and ends when signed out; the sign-in form's token matches only its cookie."""

from __future__ import annotations

import pytest

from stream_app.domain.access import Scope, User
from stream_app.web.sessions import SessionCodec

SECRET = "k" * 40
LAN = User("lan", Scope.of(["001.22.31.H53"]), stamp="s1")


class Wall:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_session_names_its_user_and_stamp():
    value, issued = SessionCodec(SECRET, 3600).issue(LAN)
    read = SessionCodec(SECRET, 3600).read(value)
    assert read == issued and (read.user, read.stamp) == ("lan", "s1")


def test_a_session_ends_after_its_lifetime():
    import time

    wall = Wall(time.time())
    codec = SessionCodec(SECRET, 3600, wall=wall)
    value, _ = codec.issue(LAN)
    wall.t += 3599
    assert codec.read(value) is not None
    wall.t += 2
    assert codec.read(value) is None


def test_a_cookie_signed_with_another_key_is_refused():
    value, _ = SessionCodec("z" * 40, 3600).issue(LAN)
    assert SessionCodec(SECRET, 3600).read(value) is None


def test_an_edited_cookie_is_refused():
    value, _ = SessionCodec(SECRET, 3600).issue(LAN)
    payload, rest = value.split(".", 1)
    assert SessionCodec(SECRET, 3600).read(payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + rest) is None
    assert SessionCodec(SECRET, 3600).read("") is None and SessionCodec(SECRET, 3600).read("garbage") is None


def test_a_revoked_session_is_refused_and_the_others_stay():
    codec = SessionCodec(SECRET, 3600)
    first, one = codec.issue(LAN)
    second, _ = codec.issue(LAN)
    codec.revoke(one)
    assert codec.read(first) is None and codec.read(second) is not None


def test_a_short_secret_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="DOSSIER_SESSION_SECRET is too short: at least 32 characters"):
        SessionCodec("short", 3600)


def test_the_sign_in_forms_token_matches_only_its_own_cookie():
    codec = SessionCodec(SECRET, 3600)
    cookie, token = codec.form_token()
    other_cookie, other_token = codec.form_token()
    assert codec.form_token_matches(cookie, token)
    assert not codec.form_token_matches(cookie, other_token)
    assert not codec.form_token_matches(None, token) and not codec.form_token_matches(cookie, None)
    assert not codec.form_token_matches(token, token)  # the bare token is not a signed cookie
