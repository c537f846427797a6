"""The user file: every person who may sign in to the live page, in one JSON file.

A file, not a table: the `users` commands must work while a worker holds an
embedded store (chDB lets one process open it, docs/platform.md), and several workers
serving the page from one volume read the same file. Writes are atomic (a
temporary file in the same folder, fsync, rename) with mode 0600, under an
exclusive lock so that two administrators never lose each other's change. A
reader stats the file on every look-up and reloads it when it changed, so a user
added, disabled or given a new password counts at the next request; a file that
cannot be read keeps the last good version in force and says so in the log.

    {"format": 1, "users": {"lan": {"units": ["001.22.31.H53"] | null,
      "password": "$argon2id$…", "stamp": "…", "disabled": false,
      "token": "<sha256 of the script token>" | null, "changed_at": "…"}}}
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import structlog

from stream_app.access.passwords import (
    Passwords,
    check_name,
    check_password,
    new_token,
    normal_name,
    same_digest,
    token_digest,
)
from stream_app.clock import Clock, utc_now
from stream_app.domain.access import Scope, User

log = structlog.get_logger(__name__)

FORMAT = 1


class UserError(ValueError):
    """An administrator's request that cannot be done (unknown user, name taken, …)."""


@dataclass(frozen=True)
class Verdict:
    """The answer to a sign-in: the user, or why not (`unknown_user`, `disabled`, `wrong_password`)."""

    user: User | None
    reason: str


class UserFile:
    """Read and change the user file at `path`."""

    def __init__(self, path: Path, *, passwords: Passwords | None = None, now: Clock = utc_now) -> None:
        self.path = Path(path)
        self.passwords = passwords or Passwords()
        self.now = now
        self._signature: tuple[int, int, int] | None = None
        self._records: dict[str, dict[str, Any]] = {}
        self._bad_signature: tuple[int, int, int] | None = None
        self._reading = threading.Lock()  # the page checks passwords in threads

    # --------------------------------------------------------------- reading
    def _current(self) -> dict[str, dict[str, Any]]:
        with self._reading:
            return self._reload_if_changed()

    def _reload_if_changed(self) -> dict[str, dict[str, Any]]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._signature, self._records = None, {}
            return self._records
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        if signature != self._signature and signature != self._bad_signature:
            try:
                self._records = _parse(self.path.read_text(encoding="utf-8"))
                self._signature, self._bad_signature = signature, None
                if st.st_mode & 0o077:
                    log.warning("users.file_permissions", path=str(self.path), mode=oct(st.st_mode & 0o777))
                log.debug("users.loaded", path=str(self.path), users=len(self._records))
            except (OSError, ValueError) as exc:
                self._bad_signature = signature
                log.error("users.file_invalid", path=str(self.path), error=type(exc).__name__,
                          detail=str(exc)[:200], kept=len(self._records))
        return self._records

    def names(self) -> list[str]:
        return sorted(self._current())

    def get(self, name: str) -> User | None:
        record = self._current().get(normal_name(name))
        return _user(normal_name(name), record) if record is not None else None

    def listing(self) -> list[tuple[User, bool]]:
        """Every user, with whether they have a script token."""
        return [(_user(n, r), bool(r.get("token"))) for n, r in sorted(self._current().items())]

    def any_enabled(self) -> bool:
        return any(not r.get("disabled") for r in self._current().values())

    def verify(self, name: str, password: str) -> Verdict:
        """Check a sign-in (blocking: ~0.2 s of argon2 whatever the outcome)."""
        key = normal_name(name)
        record = self._current().get(key)
        ok = self.passwords.verify(record.get("password") if record else None, password)
        if record is None:
            return Verdict(None, "unknown_user")
        if not ok:
            return Verdict(None, "wrong_password")
        if record.get("disabled"):
            return Verdict(None, "disabled")
        return Verdict(_user(key, record), "ok")

    def by_token(self, token: str) -> User | None:
        """The enabled user whose script token this is."""
        digest = token_digest(token)
        for name, record in self._current().items():
            if record.get("token") and same_digest(record["token"], digest) and not record.get("disabled"):
                return _user(name, record)
        return None

    # --------------------------------------------------------------- writing
    def add(self, name: str, scope: Scope, password: str) -> User:
        name = check_name(normal_name(name))
        check_password(password, name)
        encoded = self.passwords.hash(password)
        with self._changing() as records:
            if name in records:
                raise UserError(f"user {name!r} exists already (change it with `users passwd`, `users units`)")
            records[name] = {"units": _units(scope), "password": encoded, "stamp": _stamp(), "disabled": False,
                             "token": None, "changed_at": self._now()}
            return _user(name, records[name])

    def set_password(self, name: str, password: str) -> None:
        name = normal_name(name)
        check_password(password, name)
        encoded = self.passwords.hash(password)
        self._update(name, password=encoded, stamp=_stamp())

    def set_scope(self, name: str, scope: Scope) -> None:
        self._update(normal_name(name), units=_units(scope))

    def set_disabled(self, name: str, disabled: bool) -> None:
        self._update(normal_name(name), disabled=disabled, stamp=_stamp())

    def issue_token(self, name: str) -> str:
        """A new script token for `name` (the previous one stops working); shown once, kept as a hash."""
        token = new_token()
        self._update(normal_name(name), token=token_digest(token))
        return token

    def revoke_token(self, name: str) -> None:
        self._update(normal_name(name), token=None)

    def _update(self, name: str, **fields: Any) -> None:
        with self._changing() as records:
            if name not in records:
                raise UserError(f"no user {name!r} in {self.path} (see `users list`)")
            records[name].update(fields, changed_at=self._now())

    def _now(self) -> str:
        return self.now().isoformat(timespec="seconds")

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Read, let the caller change, write back atomically: one writer at a time."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                records = _parse(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                records = {}
            yield records
            _write_atomically(self.path, json.dumps({"format": FORMAT, "users": records}, ensure_ascii=False,
                                                    indent=2, sort_keys=True) + "\n")
        finally:
            os.close(fd)


def _parse(text: str) -> dict[str, dict[str, Any]]:
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("users"), dict):
        raise ValueError(f"not a user file of format {FORMAT}")
    for name, record in data["users"].items():
        if not isinstance(record, dict) or not isinstance(record.get("password"), str):
            raise ValueError(f"user {name!r} has no password hash")
        units = record.get("units")
        if units is not None and (not isinstance(units, list) or not units):
            raise ValueError(f"user {name!r}: units must be null (every unit) or a non-empty list")
    return data["users"]


def _user(name: str, record: dict[str, Any]) -> User:
    units = record.get("units")
    scope = Scope.everything() if units is None else Scope.of(units)
    return User(name=name, scope=scope, stamp=str(record.get("stamp", "")), disabled=bool(record.get("disabled")))


def _units(scope: Scope) -> list[str] | None:
    return None if scope.units is None else sorted(scope.units)


def _stamp() -> str:
    return secrets.token_hex(8)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
