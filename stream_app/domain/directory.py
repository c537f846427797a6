"""Names for codes: units (from the shipped units.csv) and procedures (from the catalog).

Messages and reports show names; tables keep codes. An unknown code is shown
as itself, never dropped.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

from stream_app.domain.catalog import Catalog


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

    def procedure_name(self, code: str | None) -> str:
        if not code:
            return "thủ tục chưa xác định"
        return self.catalog.name(code) or f"thủ tục {code}"
