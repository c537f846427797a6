"""Names for codes: units (the unit directory) and procedures (from the catalog).

Messages and reports show names; tables keep codes. An unknown code is shown
as itself, never dropped. A unit has a full name ("Chi nhánh Văn phòng Đăng ký đất
đai huyện Tân Biên") and the short one the live page shows ("Chi nhánh huyện Tân
Biên"); a user, or a provincial system's sync record (which names the holding unit,
never its code), may name a unit by its code, either name or one of its aliases
(`resolve_unit`). The directory is configuration like the catalog: every province
has its own units (`DOSSIER_UNITS`, a CSV `unit_code,name[,kind,district,aliases]`,
aliases separated by `|`); unset, the shipped `stream_app/data/units.csv`.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

from stream_app.domain.catalog import Catalog


BRANCH_PREFIX = "Chi nhánh Văn phòng Đăng ký đất đai "


def _key(text: str) -> str:
    """A name as compared: case and spacing aside."""
    return " ".join(text.split()).casefold()


class Directory:
    def __init__(self, units: dict[str, str], catalog: Catalog, aliases: dict[str, tuple[str, ...]] | None = None) -> None:
        self.units = units
        self.catalog = catalog
        self.aliases = aliases or {}
        # Every way of naming a unit, compared case and spacing aside; the first unit that
        # claims a name keeps it (a directory's order is its precedence).
        self._names: dict[str, str] = {}
        for code in units:
            for name in (code, self.unit_name(code), self.short_name(code), *self.aliases.get(code, ())):
                self._names.setdefault(_key(name), code)

    @classmethod
    def load(cls, catalog: Catalog, units_csv: Path | None = None) -> "Directory":
        if units_csv is not None:
            if not units_csv.is_file():
                raise FileNotFoundError(f"unit directory not found: {units_csv} (DOSSIER_UNITS)")
            text = units_csv.read_text(encoding="utf-8-sig")
        else:
            res = resources.files("stream_app").joinpath("data", "units.csv")
            text = res.read_text(encoding="utf-8-sig") if res.is_file() else "unit_code,name\n"
        units: dict[str, str] = {}
        aliases: dict[str, tuple[str, ...]] = {}
        for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            code, name = (row.get("unit_code") or "").strip(), (row.get("name") or "").strip()
            if not code or not name:
                raise ValueError(f"unit directory line {n}: a unit needs its unit_code and name")
            units[code] = name
            extra = tuple(a.strip() for a in (row.get("aliases") or "").split("|") if a.strip())
            if extra:
                aliases[code] = extra
        return cls(units, catalog, aliases)

    def unit_name(self, code: str | None) -> str:
        if not code:
            return "đơn vị chưa xác định"
        return self.units.get(code, code)

    def short_name(self, code: str | None) -> str:
        """The name the page shows: a branch without the office's long title."""
        full = self.unit_name(code)
        return "Chi nhánh " + full[len(BRANCH_PREFIX):] if full.startswith(BRANCH_PREFIX) else full

    def resolve_unit(self, text: str | None) -> str | None:
        """A unit code from its code, its full name, its short name or an alias (case and
        spacing aside); an unknown text comes back as it is, for the caller to report."""
        if not text:
            return None
        if text in self.units:
            return text
        return self._names.get(_key(text), text)

    def knows(self, code: str | None) -> bool:
        return code is not None and code in self.units

    def procedure_name(self, code: str | None) -> str:
        if not code:
            return "thủ tục chưa xác định"
        return self.catalog.name(code) or f"thủ tục {code}"
