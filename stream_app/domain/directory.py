"""Names for codes: units (from the shipped units.csv) and procedures (from the catalog).

Messages and reports show names; tables keep codes. An unknown code is shown
as itself, never dropped. A unit has a full name ("Chi nhánh Văn phòng Đăng ký đất
đai huyện Tân Biên") and the short one the live page shows ("Chi nhánh huyện Tân
Biên"); a user may name a unit by its code or either name (`resolve_unit`).
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

from stream_app.domain.catalog import Catalog


BRANCH_PREFIX = "Chi nhánh Văn phòng Đăng ký đất đai "


class Directory:
    def __init__(self, units: dict[str, str], catalog: Catalog) -> None:
        self.units = units
        self.catalog = catalog

    @classmethod
    def load(cls, catalog: Catalog, units_csv: Path | None = None) -> "Directory":
        if units_csv is not None:
            text = units_csv.read_text(encoding="utf-8-sig")
        else:
            res = resources.files("stream_app").joinpath("data", "units.csv")
            text = res.read_text(encoding="utf-8-sig") if res.is_file() else "unit_code,name\n"
        units = {row["unit_code"]: row["name"] for row in csv.DictReader(io.StringIO(text))}
        return cls(units, catalog)

    def unit_name(self, code: str | None) -> str:
        if not code:
            return "đơn vị chưa xác định"
        return self.units.get(code, code)

    def short_name(self, code: str | None) -> str:
        """The name the page shows: a branch without the office's long title."""
        full = self.unit_name(code)
        return "Chi nhánh " + full[len(BRANCH_PREFIX):] if full.startswith(BRANCH_PREFIX) else full

    def resolve_unit(self, text: str | None) -> str | None:
        """A unit code from its code, its full name or its short name (case and spacing
        aside); an unknown text comes back as it is, for the caller to report."""
        if not text:
            return None
        if text in self.units:
            return text
        wanted = " ".join(text.split()).casefold()
        for code in self.units:
            if wanted in (self.unit_name(code).casefold(), self.short_name(code).casefold(), code.casefold()):
                return code
        return text

    def procedure_name(self, code: str | None) -> str:
        if not code:
            return "thủ tục chưa xác định"
        return self.catalog.name(code) or f"thủ tục {code}"
