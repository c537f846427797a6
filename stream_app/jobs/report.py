"""`dossier-stream report`: the monthly report of one month, from the store, in a format.

It opens the store read-only in spirit: the only write is applying pending
migrations, so a store written before the views existed gets them. An embedded
(chDB) store can be read only while no other process holds it (one process per
store); `dossier-stream store` serves one to several processes. The letter's configuration (`DOSSIER_REPORT_CONFIG` over the shipped one) is
read and checked before the store is opened, so a typo in it fails at once.
`docx` writes the administrative letter; `charts` (a folder) also writes the
report's pictures there as PNG, whatever the format.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import structlog

from stream_app.jobs.rules import load_directory, load_rules
from stream_app.report import make_report, parse_month
from stream_app.report.blocks import Report
from stream_app.report.letter import ReportConfig, load_config
from stream_app.report.render import write_csv, write_markdown, write_table, write_xlsx
from stream_app.settings import Settings
from stream_app.store.client import connect
from stream_app.store.migrate import migrate

log = structlog.get_logger(__name__)
FILE_FORMATS = ("xlsx", "docx")  # binary: they need --out


def run_report(settings: Settings, *, month: str, unit: str | None = None, fmt: str = "table",
               out: Path | None = None, charts: Path | None = None, today: date | None = None) -> int:
    """Write the report of `month` (YYYY-MM) in `fmt`, and its charts into `charts`; return the exit code.

    `today` is the issue date a letter configured with `date = "today"` shows (the CLI passes the
    local date).
    """
    first = parse_month(month)
    if fmt in FILE_FORMATS and out is None:
        raise ValueError(f"--format {fmt} needs --out FILE.{fmt}")
    config = load_config(settings.report_config)
    client = connect(settings.clickhouse.get_secret_value())
    try:
        migrate(client, settings.database)
        rules = load_rules(settings)
        report = make_report(client, settings.database, first, unit, calendar=rules.calendar,
                             directory=load_directory(rules, settings), remedies=config.remedies,
                             charts=fmt == "docx" or charts is not None)
    finally:
        client.close()
    try:
        _write(report, config, fmt, out, month=first, today=today)
        written = [out] if out is not None else []
        if charts is not None:
            written += _write_charts(report, charts)
    except OSError as exc:  # a folder that does not exist, a file open elsewhere, a full disk
        log.error("report.write_failed", path=str(exc.filename or out), error=type(exc).__name__,
                  detail=exc.strerror or str(exc))
        return 1
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _write(report: Report, config: ReportConfig, fmt: str, out: Path | None, *, month: date,
           today: date | None) -> None:
    if fmt == "xlsx":
        write_xlsx(report, out)
    elif fmt == "docx":
        from stream_app.report.word import write_docx  # python-docx only when a letter is asked for

        write_docx(report, config.letter, out, month=month, issued=today)
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


def _write_charts(report: Report, folder: Path) -> list[Path]:
    from stream_app.report.charts import draw

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for chart in report.charts():
        path = folder / f"{report.sheet}-{chart.key}.png"
        path.write_bytes(draw(chart))
        paths.append(path)
    return paths
