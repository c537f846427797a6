"""`dossier-stream users` as an administrator runs it: the password from a prompt (twice)
or standard input, never a flag; units by code or name; clear refusals, exit 2."""

from __future__ import annotations

import getpass
import io
import sys
from pathlib import Path

import pytest

from stream_app.access.users import UserFile
from stream_app.cli import main

A = "001.22.31.H53"
PASSWORD = "mot-mat-khau-du-dai"


class Stdin(io.StringIO):
    def __init__(self, text: str, tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def run(args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "", tty: bool = False) -> int:
    monkeypatch.setattr(sys, "stdin", Stdin(stdin, tty))
    return main(["users", *args])


@pytest.fixture
def users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.json"
    monkeypatch.setenv("DOSSIER_USERS", str(path))
    return path


def test_add_reads_the_password_from_standard_input(users: Path, monkeypatch, capsys):
    assert run(["add", "lan", "--unit", A], monkeypatch, PASSWORD + "\n") == 0
    assert capsys.readouterr().out == f"added lan ({A} Chi nhánh thành phố Tây Ninh) to {users}\n"
    assert UserFile(users).verify("lan", PASSWORD).reason == "ok"


def test_a_unit_is_named_by_its_code_or_its_name(users: Path, monkeypatch):
    assert run(["add", "lan", "--unit", "chi nhánh thành phố tây ninh", "--unit", "002.22.31.H53"],
               monkeypatch, PASSWORD) == 0
    assert UserFile(users).get("lan").scope.units == {A, "002.22.31.H53"}


def test_the_task_force_sees_every_unit(users: Path, monkeypatch):
    assert run(["add", "totrinh", "--all"], monkeypatch, PASSWORD) == 0
    assert UserFile(users).get("totrinh").scope.all_units


def test_the_prompt_asks_twice_and_refuses_two_different_passwords(users: Path, monkeypatch, capsys):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    assert run(["add", "lan", "--all"], monkeypatch, tty=True) == 2
    assert "the two passwords differ; nothing changed" in capsys.readouterr().err
    assert not users.exists()


def test_the_prompt_adds_the_user_when_both_answers_agree(users: Path, monkeypatch):
    monkeypatch.setattr(getpass, "getpass", lambda prompt: PASSWORD)
    assert run(["add", "lan", "--all"], monkeypatch, tty=True) == 0


def test_there_is_no_password_flag(users: Path, monkeypatch):
    with pytest.raises(SystemExit) as exit_:
        run(["add", "lan", "--all", "--password", PASSWORD], monkeypatch)
    assert exit_.value.code == 2


@pytest.mark.parametrize("args, message", [
    (["add", "lan", "--unit", "Chi nhánh huyện Không Có"], "no unit 'Chi nhánh huyện Không Có'"),
    (["add", "lan"], "give either --all"),
    (["add", "lan", "--all", "--unit", A], "give either --all"),
    (["add", "lan", "--all"], "no password on standard input"),
])
def test_a_refusal_says_why_and_exits_2(users: Path, monkeypatch, capsys, args: list[str], message: str):
    assert run(args, monkeypatch, "") == 2
    assert message in capsys.readouterr().err
    assert not users.exists()


def test_list_shows_roles_units_and_states(users: Path, monkeypatch, capsys):
    run(["add", "totrinh", "--all"], monkeypatch, PASSWORD)
    run(["add", "lan", "--unit", A], monkeypatch, PASSWORD)
    run(["disable", "lan"], monkeypatch)
    capsys.readouterr()
    assert run(["list"], monkeypatch) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"lan\tunit\tdisabled\ttoken: no\t{A} Chi nhánh thành phố Tây Ninh",
        "totrinh\ttask force\tenabled\ttoken: no\tevery unit",
    ]


def test_passwd_sets_a_new_password(users: Path, monkeypatch):
    run(["add", "lan", "--all"], monkeypatch, PASSWORD)
    assert run(["passwd", "lan"], monkeypatch, "mat-khau-moi-hoan-toan\n") == 0
    assert UserFile(users).verify("lan", "mat-khau-moi-hoan-toan").reason == "ok"


def test_passwd_of_an_unknown_user_asks_for_no_password(users: Path, monkeypatch, capsys):
    assert run(["passwd", "ghost"], monkeypatch, "") == 2
    assert "no user 'ghost'" in capsys.readouterr().err


def test_disable_and_enable(users: Path, monkeypatch):
    run(["add", "lan", "--all"], monkeypatch, PASSWORD)
    assert run(["disable", "lan"], monkeypatch) == 0 and UserFile(users).get("lan").disabled
    assert run(["enable", "lan"], monkeypatch) == 0 and not UserFile(users).get("lan").disabled


def test_units_changes_what_a_user_sees(users: Path, monkeypatch):
    run(["add", "lan", "--unit", A], monkeypatch, PASSWORD)
    assert run(["units", "lan", "--all"], monkeypatch) == 0
    assert UserFile(users).get("lan").scope.all_units


def test_token_prints_a_token_once_and_revoke_ends_it(users: Path, monkeypatch, capsys):
    run(["add", "lan", "--unit", A], monkeypatch, PASSWORD)
    capsys.readouterr()
    assert run(["token", "lan"], monkeypatch) == 0
    token = capsys.readouterr().out.strip()
    assert UserFile(users).by_token(token).name == "lan"
    assert run(["token", "lan", "--revoke"], monkeypatch) == 0
    assert UserFile(users).by_token(token) is None


def test_the_file_flag_overrides_the_variable(users: Path, tmp_path: Path, monkeypatch):
    other = tmp_path / "other.json"
    assert run(["--file", str(other), "add", "lan", "--all"], monkeypatch, PASSWORD) == 0
    assert other.exists() and not users.exists()
