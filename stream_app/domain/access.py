"""Who sees which dossiers: a person's scope on the live page.

Two roles (docs/contract.md §6): the task force sees every unit; a unit user sees the
dossiers whose receiving unit or current unit is one of theirs — a dossier a
branch received and sent on to the provincial office is the branch's and, while
it is there, the office's too. `Scope` is that rule as a value; `User` is a
person as the page knows them (no password, no hash: those stay with the user
file). Pure: the web adapter turns a scope into SQL conditions.
"""

from __future__ import annotations

from dataclasses import dataclass

TASK_FORCE = "task_force"
UNIT_USER = "unit"


@dataclass(frozen=True)
class Scope:
    """The units whose dossiers a person may see; `units is None` means every unit."""

    units: frozenset[str] | None

    @classmethod
    def everything(cls) -> "Scope":
        return cls(None)

    @classmethod
    def of(cls, units: frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> "Scope":
        if not units:
            raise ValueError("a unit user needs at least one unit")
        return cls(frozenset(units))

    @property
    def all_units(self) -> bool:
        return self.units is None

    @property
    def role(self) -> str:
        return TASK_FORCE if self.units is None else UNIT_USER

    def sees(self, receiving_unit: str | None, current_unit: str | None) -> bool:
        """Whether a dossier received by `receiving_unit` and now at `current_unit` is visible."""
        if self.units is None:
            return True
        return receiving_unit in self.units or current_unit in self.units

    def key(self) -> str:
        """A stable text for caches: `*` or the sorted codes."""
        return "*" if self.units is None else ",".join(sorted(self.units))


@dataclass(frozen=True)
class User:
    """A person who may sign in: a name, a scope, and a stamp that changes with the
    password (and on disable), so that older sessions stop being valid."""

    name: str
    scope: Scope
    stamp: str
    disabled: bool = False
