"""The procedure catalog: each procedure's time limit and its tax coordination.

Owns reading and validating the catalog CSV (DOSSIER_CATALOG, else the copy shipped in
stream_app/data/catalog.csv) and answering "which version of this procedure applied on
that date". A procedure may have several rows, one per ``effective_from`` date, because
limits change by decree (the tax limit for transfers drops from 5 to 3 working days on
2026-07-01, Decree 252/2026); provinces publish their own limits as data, not code.
"""

from __future__ import annotations

import csv
import io
import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path

REQUIRED_COLUMNS = ("procedure_code", "name", "limit_working_days", "tax_interlinked", "tax_limit_working_days")
OPTIONAL_COLUMNS = ("effective_from",)
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class Procedure:
    """One version of a procedure; a limit of None means no known time limit."""

    code: str
    name: str
    limit_working_days: float | None
    tax_interlinked: bool
    tax_limit_working_days: float | None
    effective_from: date | None  # None: in force from the beginning


class CatalogError(ValueError):
    """A catalog that cannot be used; the message names the file and line."""


class Catalog:
    """Procedures by code, each with its effective-dated versions."""

    def __init__(self, versions: dict[str, tuple[tuple[date, ...], tuple[Procedure, ...]]]) -> None:
        self._versions = versions

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Read the CSV at ``path``, or the catalog shipped with the product."""
        if path is None:
            source = "stream_app/data/catalog.csv"
            text = (files("stream_app") / "data" / "catalog.csv").read_text("utf-8-sig")
        else:
            source = str(path)
            try:
                data = Path(path).read_bytes()
            except OSError as error:
                raise CatalogError(f"{source}: cannot read the catalog: {error}") from None
            if data.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise CatalogError(f"{source}: the catalog is UTF-16 (a spreadsheet's \"Unicode text\"); "
                                   "save it as \"CSV UTF-8\"")
            try:
                text = data.decode("utf-8-sig")  # a UTF-8 byte order mark (Excel's CSV UTF-8) is fine
            except UnicodeDecodeError as error:
                raise CatalogError(f"{source}: the catalog is not UTF-8 ({error}); save it as \"CSV UTF-8\"") from None
        return cls._build(_parse(text, source), source)

    @classmethod
    def from_rows(cls, rows: Iterable[Procedure]) -> Catalog:
        return cls._build(((None, row) for row in rows), "catalog rows")

    @classmethod
    def _build(cls, rows: Iterable[tuple[int | None, Procedure]], source: str) -> Catalog:
        by_code: dict[str, dict[date, Procedure]] = {}
        for line, row in rows:
            where = f"{source}:{line}" if line is not None else source
            start = row.effective_from or date.min
            versions = by_code.setdefault(row.code, {})
            if start in versions:
                since = row.effective_from.isoformat() if row.effective_from else "the beginning"
                raise CatalogError(f"{where}: procedure {row.code} has two rows in force from {since}")
            versions[start] = row
        return cls(
            {
                code: (tuple(sorted(versions)), tuple(versions[d] for d in sorted(versions)))
                for code, versions in by_code.items()
            }
        )

    def lookup(self, code: str, on: date) -> Procedure | None:
        """The version in force on ``on``; before the first version, the earliest one."""
        found = self._versions.get(code)
        if found is None:
            return None
        starts, versions = found
        return versions[max(bisect_right(starts, on) - 1, 0)]

    def __contains__(self, code: object) -> bool:
        return code in self._versions

    def __len__(self) -> int:
        return len(self._versions)

    def codes(self) -> list[str]:
        return sorted(self._versions)

    def name(self, code: str) -> str | None:
        """The name in the most recent version."""
        found = self._versions.get(code)
        return found[1][-1].name if found else None


def _parse(text: str, source: str) -> Iterator[tuple[int, Procedure]]:
    # csv.reader rather than DictReader: DictReader skips blank lines silently, which
    # would make the reported line numbers drift from what the user sees in an editor.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    line = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise CatalogError(f"{source}:{reader.line_num}: {error}") from None
        line, first_line = reader.line_num, line + 1
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            if len(header) == 1 and ";" in header[0]:
                raise CatalogError(f"{source}:{first_line}: the fields are separated by ';' (a spreadsheet saved "
                                   "with a local list separator); save the catalog as CSV with commas")
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise CatalogError(
                    f"{source}:{first_line}: missing column(s) {', '.join(missing)}; "
                    f"expected {','.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
                )
            continue
        if len(row) != len(header):
            raise CatalogError(f"{source}:{first_line}: expected {len(header)} fields, found {len(row)}")
        yield first_line, _procedure(dict(zip(header, row)), f"{source}:{first_line}")
    if header is None:
        raise CatalogError(f"{source}:1: empty catalog; expected the header {','.join(REQUIRED_COLUMNS)}")


def _procedure(raw: dict[str, str], where: str) -> Procedure:
    field = {k: v.strip() for k, v in raw.items()}
    code, name = field["procedure_code"], field["name"]
    if not code:
        raise CatalogError(f"{where}: procedure_code is empty")
    if not name:
        raise CatalogError(f"{where}: name is empty for procedure {code}")
    interlinked = _BOOLEANS.get(field["tax_interlinked"].lower())
    if interlinked is None:
        raise CatalogError(f"{where}: tax_interlinked must be true or false, got {field['tax_interlinked']!r}")
    effective_from = None
    if field.get("effective_from"):
        try:
            effective_from = date.fromisoformat(field["effective_from"])
        except ValueError:
            raise CatalogError(f"{where}: effective_from must be YYYY-MM-DD, got {field['effective_from']!r}") from None
    no_tax_limit = field["tax_limit_working_days"] in ("", "0", "0.0")
    if interlinked:
        tax_limit = None if no_tax_limit else _limit(field, "tax_limit_working_days", where)
        if tax_limit is None:
            raise CatalogError(f"{where}: procedure {code} is tax-interlinked, so tax_limit_working_days must be a "
                               "positive number of working days (e.g. 5)")
    elif no_tax_limit:
        tax_limit = None  # no tax step: an empty cell and 0 say the same
    else:
        tax_limit = _limit(field, "tax_limit_working_days", where)
    return Procedure(
        code=code,
        name=name,
        limit_working_days=_limit(field, "limit_working_days", where),
        tax_interlinked=interlinked,
        tax_limit_working_days=tax_limit,
        effective_from=effective_from,
    )


def _limit(field: dict[str, str], column: str, where: str) -> float | None:
    text = field[column]
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise CatalogError(f"{where}: {column} must be a positive number of working days (e.g. 8 or 0.5), got {text!r}")
    return value
