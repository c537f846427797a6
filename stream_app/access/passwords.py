"""Passwords and tokens: the rules a new password must meet, its argon2id hash, and
the random tokens scripts use instead of a session.

Only hashes are ever stored: a password as argon2-cffi's argon2id encoding (salted,
slow on purpose: ~0.2 s and 64 MiB per check with the library's RFC 9106 defaults),
a token as its SHA-256 (a 256-bit random token needs no slow hash; a fast one lets
every API call check it). Verifying against a throw-away hash when the user does
not exist keeps a wrong name as slow as a wrong password, so timing does not tell
which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
TOKEN_PREFIX = "dst_"  # recognisable by secret scanners and in a leaked config
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class PolicyError(ValueError):
    """A user name or password that the rules refuse; the message says which rule."""


def normal_name(text: str) -> str:
    """The user name as stored and compared: trimmed, lower case."""
    return text.strip().lower()


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise PolicyError(
            f"user name {name!r} is not allowed: 1-64 characters, a-z 0-9 . _ -, starting with a letter or digit")
    return name


def check_password(password: str, name: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise PolicyError(f"the password is too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PolicyError(f"the password is too long: at most {MAX_PASSWORD} characters")
    if normal_name(password) == name or name in password.lower():
        raise PolicyError("the password must not contain the user name")
    return password


class Passwords:
    """argon2id hashing with the library's defaults."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    @cached_property
    def _decoy(self) -> str:
        return self.hasher.hash(secrets.token_urlsafe(16))

    def verify(self, encoded: str | None, password: str) -> bool:
        """Whether `password` matches `encoded`; with no hash, as slow as a real check."""
        try:
            return self.hasher.verify(encoded or self._decoy, password) and encoded is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
