"""The user file: only hashes, written atomically with 0600, re-read when it changes,
and the rules for names, passwords and tokens.

Most tests hash with argon2's cheapest parameters (a `Passwords` passed in) to stay fast;
one checks the defaults the product ships with.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from stream_app.access.passwords import Passwords, PolicyError
from stream_app.access.users import UserError, UserFile
from stream_app.domain.access import Scope

A, B = "001.22.31.H53", "002.22.31.H53"
PASSWORD = "mot-mat-khau-du-dai"
FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
NOW = datetime(2023, 11, 30, 11, 0, tzinfo=timezone.utc)


def users(path: Path) -> UserFile:
    return UserFile(path, passwords=FAST, now=lambda: NOW)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "users.json"


def test_a_new_user_is_kept_with_a_salted_argon2id_hash_only(path: Path):
    UserFile(path).add("lan", Scope.of([A]), PASSWORD)
    text = path.read_text()
    record = json.loads(text)["users"]["lan"]
    assert PASSWORD not in text
    assert record["password"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert (record["units"], record["disabled"], record["token"]) == ([A], False, None)


def test_the_file_is_readable_by_its_owner_only_and_written_whole(path: Path):
    users(path).add("lan", Scope.of([A]), PASSWORD)
    users(path).add("minh", Scope.everything(), PASSWORD + "2")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["users.json", "users.json.lock"]  # no temporary left


def test_a_user_is_checked_by_password(path: Path):
    f = users(path)
    f.add("lan", Scope.of([A, B]), PASSWORD)
    verdict = f.verify("lan", PASSWORD)
    assert verdict.reason == "ok" and verdict.user.scope == Scope.of([A, B])
    assert (f.verify("lan", "wrong-password!").reason, f.verify("lan", "wrong-password!").user) == (
        "wrong_password", None)
    assert f.verify("nobody", PASSWORD).reason == "unknown_user"


def test_names_are_compared_trimmed_and_in_lower_case(path: Path):
    f = users(path)
    f.add("Lan.Nguyen", Scope.of([A]), PASSWORD)
    assert f.names() == ["lan.nguyen"]
    assert f.verify("  LAN.nguyen ", PASSWORD).reason == "ok"


def test_a_disabled_user_cannot_sign_in_and_their_stamp_changes(path: Path):
    f = users(path)
    before = f.add("lan", Scope.of([A]), PASSWORD).stamp
    f.set_disabled("lan", True)
    assert f.verify("lan", PASSWORD).reason == "disabled"
    assert f.get("lan").disabled and f.get("lan").stamp != before
    assert not f.any_enabled()


def test_a_new_password_replaces_the_old_and_changes_the_stamp(path: Path):
    f = users(path)
    before = f.add("lan", Scope.of([A]), PASSWORD).stamp
    f.set_password("lan", "mat-khau-moi-hoan-toan")
    assert f.verify("lan", PASSWORD).reason == "wrong_password"
    assert f.verify("lan", "mat-khau-moi-hoan-toan").reason == "ok"
    assert f.get("lan").stamp != before


def test_a_users_units_can_change(path: Path):
    f = users(path)
    f.add("lan", Scope.of([A]), PASSWORD)
    f.set_scope("lan", Scope.everything())
    assert f.get("lan").scope.all_units


def test_a_name_is_added_once(path: Path):
    f = users(path)
    f.add("lan", Scope.of([A]), PASSWORD)
    with pytest.raises(UserError, match="exists already"):
        f.add("lan", Scope.of([B]), PASSWORD)


def test_changing_an_unknown_user_says_so(path: Path):
    with pytest.raises(UserError, match="no user 'ghost'"):
        users(path).set_disabled("ghost", True)


@pytest.mark.parametrize("password, rule", [
    ("short", "too short: at least 12 characters"),
    ("x" * 1025, "too long"),
    ("lan-1234567890", "must not contain the user name"),
])
def test_a_weak_password_is_refused_with_the_rule(path: Path, password: str, rule: str):
    with pytest.raises(PolicyError, match=rule):
        users(path).add("lan", Scope.of([A]), password)
    assert not path.exists()


@pytest.mark.parametrize("name", ["", "a b", "lan/../x", "Nguyễn", "-lan", "x" * 65])
def test_a_user_name_is_a_plain_ascii_word(path: Path, name: str):
    with pytest.raises(PolicyError, match="not allowed"):
        users(path).add(name, Scope.of([A]), PASSWORD)


def test_a_running_reader_sees_a_change_made_by_another_process(path: Path):
    reader = users(path)
    assert reader.names() == [] and not reader.any_enabled()
    users(path).add("lan", Scope.of([A]), PASSWORD)
    assert reader.names() == ["lan"]
    users(path).set_disabled("lan", True)
    assert reader.get("lan").disabled


def test_a_damaged_file_leaves_the_last_good_users_in_force(path: Path):
    reader = users(path)
    users(path).add("lan", Scope.of([A]), PASSWORD)
    assert reader.names() == ["lan"]
    path.write_text("{ not json")
    assert reader.names() == ["lan"] and reader.verify("lan", PASSWORD).reason == "ok"


def test_a_token_is_shown_once_and_kept_as_a_hash(path: Path):
    f = users(path)
    f.add("lan", Scope.of([A]), PASSWORD)
    token = f.issue_token("lan")
    assert token.startswith("dst_") and len(token) > 40
    assert token not in path.read_text()
    assert f.by_token(token).name == "lan" and f.by_token(token + "x") is None
    assert f.listing()[0][1] is True


def test_a_new_token_replaces_the_old_and_a_revoked_one_stops(path: Path):
    f = users(path)
    f.add("lan", Scope.of([A]), PASSWORD)
    first = f.issue_token("lan")
    second = f.issue_token("lan")
    assert f.by_token(first) is None and f.by_token(second).name == "lan"
    f.revoke_token("lan")
    assert f.by_token(second) is None


def test_a_disabled_users_token_stops(path: Path):
    f = users(path)
    f.add("lan", Scope.of([A]), PASSWORD)
    token = f.issue_token("lan")
    f.set_disabled("lan", True)
    assert f.by_token(token) is None
