"""`dossier-stream report`: the monthly report of one month, from the store, in a format.

It opens the store read-only in spirit: the only write is applying pending
migrations, so a store written before the views existed gets them. An embedded
(chDB) store can be read only while no worker holds it (one process per store).
"""

from __future__ import annotations

import sys
from pathlib import Path

from stream_app.jobs.rules import load_directory, load_rules
from stream_app.report import make_report, parse_month
from stream_app.report.render import write_csv, write_markdown, write_table, write_xlsx
from stream_app.settings import Settings
from stream_app.store.client import connect
from stream_app.store.migrate import migrate


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
        rules = load_rules(settings)
        report = make_report(client, settings.database, first, unit, calendar=rules.calendar,
                             directory=load_directory(rules, settings))
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
