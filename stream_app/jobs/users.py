"""`dossier-stream users`: who may sign in to the live page, and what they see.

The commands change the user file (`DOSSIER_USERS`, `access.users.UserFile`); a
worker serving the page notices the change at its next request, so nothing needs
a restart. A unit is named by its code or either of its names
(`Directory.resolve_unit`); a name that is no unit of the directory is refused, so
a typo never leaves a person with an empty page. The password comes from the
caller (the CLI reads it from a prompt, twice, or from standard input), never from
a flag, and is kept only as its argon2id hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from stream_app.access.users import UserError, UserFile
from stream_app.domain.access import Scope
from stream_app.domain.directory import Directory
from stream_app.jobs.rules import load_directory, load_rules
from stream_app.settings import Settings


@dataclass(frozen=True)
class Row:
    """One line of `users list`."""

    name: str
    role: str
    units: str
    state: str
    token: str


def user_file(settings: Settings) -> UserFile:
    return UserFile(settings.users)


def directory(settings: Settings) -> Directory:
    return load_directory(load_rules(settings))


def scope_of(all_units: bool, units: list[str], names: Directory) -> Scope:
    """`--all`, or the units named by `--unit` (codes or names), each checked."""
    if all_units == bool(units):
        raise UserError("give either --all (the task force: every unit) or one or more --unit CODE")
    if all_units:
        return Scope.everything()
    codes = []
    for text in units:
        code = names.resolve_unit(text)
        if code not in names.units:
            raise UserError(f"no unit {text!r}: give a unit code such as 001.22.31.H53, or its name")
        codes.append(code)
    return Scope.of(codes)


def describe(scope: Scope, names: Directory) -> str:
    if scope.units is None:
        return "every unit"
    return "; ".join(f"{code} {names.short_name(code)}" for code in sorted(scope.units))


def listing(users: UserFile, names: Directory) -> list[Row]:
    return [Row(u.name, "task force" if u.scope.all_units else "unit", describe(u.scope, names),
                "disabled" if u.disabled else "enabled", "yes" if has_token else "no")
            for u, has_token in users.listing()]
