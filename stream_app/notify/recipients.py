"""Who receives alert e-mail: `DOSSIER_MAIL_RECIPIENTS`, a small TOML file.

    task_force = ["to-cong-tac@stnmt.example.gov.vn"]      # every unit's alerts and digest

    [units]
    "004.22.31.H53" = ["chinhanh.tanbien@example.gov.vn"]  # unit code -> addresses

A unit's alerts and morning digest go to the unit that received the dossier and to
the unit holding it now (the rule of the live page's per-unit access); the task
force gets one message covering every unit. A recipient group is named in the
outbox by its unit code or `task_force`, never by an address: addresses stay in
this file, out of tables and logs. A file that is not what this says is a clear
error at start, naming the entry, never an address.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from pathlib import Path
from typing import Any

TASK_FORCE = "task_force"


@dataclass(frozen=True)
class Recipients:
    units: dict[str, tuple[str, ...]] = field(default_factory=dict)
    task_force: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path | None) -> "Recipients":
        if path is None:
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise FileNotFoundError(f"DOSSIER_MAIL_RECIPIENTS: no such file {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"DOSSIER_MAIL_RECIPIENTS ({path}) is not valid TOML: {exc}") from None
        unknown = set(data) - {"task_force", "units"}
        if unknown:
            raise ValueError(f"DOSSIER_MAIL_RECIPIENTS ({path}): unknown key(s) {sorted(unknown)}; "
                             "expected task_force = [...] and a [units] table")
        units = data.get("units", {})
        if not isinstance(units, dict):
            raise ValueError(f"DOSSIER_MAIL_RECIPIENTS ({path}): [units] must be a table of unit code = [addresses]")
        return cls({str(code): _addresses(addrs, f"units.{code}", path) for code, addrs in units.items()},
                   _addresses(data.get("task_force", []), "task_force", path))

    def groups(self, message: dict[str, Any]) -> list[str]:
        """The recipient groups of an alert message: its receiving and holding units, the task force."""
        out = []
        for code in (message.get("receiving_unit"), message.get("unit")):
            if code and self.units.get(code) and code not in out:
                out.append(str(code))
        if self.task_force:
            out.append(TASK_FORCE)
        return out

    def digest_groups(self) -> list[str]:
        return [*sorted(u for u, a in self.units.items() if a), *([TASK_FORCE] if self.task_force else [])]

    def addresses(self, group: str) -> tuple[str, ...]:
        return self.task_force if group == TASK_FORCE else self.units.get(group, ())

    def __bool__(self) -> bool:
        return bool(self.task_force or any(self.units.values()))


def _addresses(value: Any, where: str, path: Path) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"DOSSIER_MAIL_RECIPIENTS ({path}): {where} must be a list of e-mail addresses")
    out = []
    for i, text in enumerate(value):
        try:
            addr = Address(addr_spec=text.strip())
        except (HeaderParseError, MessageDefect, ValueError, IndexError):
            raise ValueError(f"DOSSIER_MAIL_RECIPIENTS ({path}): {where}[{i}] is not an e-mail address") from None
        if not addr.domain or not addr.username:
            raise ValueError(f"DOSSIER_MAIL_RECIPIENTS ({path}): {where}[{i}] is not an e-mail address")
        out.append(addr.addr_spec)
    return tuple(out)
