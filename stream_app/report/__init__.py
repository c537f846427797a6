"""`dossier-stream report`: the task force's monthly report, in Vietnamese, from ClickHouse.

`run_report` reads the analytics views (sinks/migrations/002_analytics.sql) of
one month and the month before — totals, the change and its causes, the worst
units and procedures, the dossiers still overdue at the end of the month — and
writes them as a terminal table, Markdown, CSV or Excel. It opens the store
read-only in spirit: the only write is applying pending migrations, so a store
written before the views existed gets them. An embedded (chDB) store can be
read only while no worker holds it (PLATFORM.md: one process per store).
"""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

from stream_app.domain.calendar import OfficeHours, WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.report.data import MonthData, load_month
from stream_app.report.render import write_csv, write_markdown, write_table, write_xlsx
from stream_app.report.sections import Report, build
from stream_app.settings import Settings
from stream_app.store.client import connect, migrate

__all__ = ["run_report", "parse_month", "make_report", "MonthData", "Report"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> date:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"--month must be YYYY-MM, e.g. 2023-11 (got {text!r})")
    return date(int(m.group(1)), int(m.group(2)), 1)


def resolve_unit(text: str | None, directory: Directory) -> str | None:
    """A unit code from a code or an exact (case-insensitive) unit name."""
    if not text:
        return None
    if text in directory.units:
        return text
    by_name = {name.casefold(): code for code, name in directory.units.items()}
    return by_name.get(text.strip().casefold(), text)


def make_report(client: object, settings: Settings, month: date, unit: str | None = None) -> Report:
    calendar = WorkingCalendar.load(settings.calendar, OfficeHours.parse(settings.office_hours))
    directory = Directory.load(Catalog.load(settings.catalog))
    data = load_month(client, settings.database, month, resolve_unit(unit, directory))
    if unit and not data.has_data and resolve_unit(unit, directory) not in directory.units:
        raise ValueError(f"unknown unit {unit!r}: give a receiving unit code such as 001.22.31.H53")
    return build(data, directory, calendar)


def _open(dsn: str) -> object:
    try:
        return connect(dsn)
    except ConnectionError:
        raise
    except Exception as exc:
        if dsn.startswith("chdb://"):  # one process per embedded store (PLATFORM.md)
            raise ConnectionError(
                f"cannot open the embedded store {dsn[len('chdb://'):]}: another process (a worker or a run) "
                f"may hold it; stop it first, or report from a ClickHouse server ({type(exc).__name__})"
            ) from None
        raise


def run_report(settings: Settings, *, month: str, unit: str | None = None, fmt: str = "table",
               out: Path | None = None) -> int:
    """Write the report of `month` (YYYY-MM) in `fmt`; return the exit code."""
    first = parse_month(month)
    if fmt == "xlsx" and out is None:
        raise ValueError("--format xlsx needs --out FILE.xlsx")
    client = _open(settings.clickhouse.get_secret_value())
    try:
        migrate(client, settings.database)
        report = make_report(client, settings, first, unit)
    finally:
        client.close()
    if fmt == "xlsx":
        write_xlsx(report, out)
    elif fmt == "table":
        from rich.console import Console

        if out is None:
            console = Console()
            write_table(report, console if console.is_terminal else Console(width=200))
        else:
            with out.open("w", encoding="utf-8") as f:
                write_table(report, Console(file=f, width=200, no_color=True, highlight=False))
    else:
        body = write_markdown(report) if fmt == "md" else write_csv(report)
        if out is None:
            sys.stdout.write(body.lstrip("\ufeff"))
        else:
            out.write_text(body, encoding="utf-8", newline="")
    if out is not None:
        print(f"wrote {out}", file=sys.stderr)
    return 0
