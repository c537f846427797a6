"""The four formats of the monthly report: terminal table, Markdown, CSV, Excel.

Each takes a `sections.Report`. Text formats (table, md) show Vietnamese
numbers (33,3%; 1.234; dates dd/mm/yyyy); CSV is for machines (plain numbers,
rates as fractions 0–1, ISO dates, UTF-8 with a BOM so that Excel shows the
diacritics) with each block under a one-cell title row and a blank row after
it; Excel gets typed cells with number formats, one sheet.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table as RichTable

from stream_app.domain.calendar import TZ
from stream_app.report.sections import (
    Column,
    Paragraphs,
    Report,
    Table,
    Typed,
    vn_number,
)

DASH = "—"


def _cells(table: Table, row: list[Any]) -> Iterable[tuple[Any, str]]:
    for col, value in zip(table.columns, row):
        yield (value.value, value.kind) if isinstance(value, Typed) else (value, col.kind)


def _local(t: datetime) -> datetime:
    return t.astimezone(TZ) if t.tzinfo else t


def text(value: Any, kind: str) -> str:
    """A value as the Vietnamese reader expects it."""
    if value is None:
        return DASH
    if kind == "int":
        return vn_number(value, 0)
    if kind == "delta":
        return ("+" if value > 0 else "") + vn_number(value, 0)
    if kind == "rate":
        return f"{vn_number(100 * value, 1)}%"
    if kind == "pp":
        return ("+" if round(value * 100, 1) > 0 else "") + f"{vn_number(100 * value, 1)} điểm %"
    if kind == "score":
        return vn_number(value, 2)
    if kind == "score_delta":
        return ("+" if round(value, 2) > 0 else "") + vn_number(value, 2)
    if kind == "decimal":
        return vn_number(value, 1)
    if kind == "datetime":
        return f"{_local(value):%d/%m/%Y %H:%M}"
    if kind == "date":
        return f"{value:%d/%m/%Y}"
    return str(value)


def plain(value: Any, kind: str) -> Any:
    """A value for CSV: numbers as numbers, times in ISO 8601."""
    if value is None:
        return ""
    if kind in ("rate", "pp"):
        return round(value, 6)
    if kind in ("score", "score_delta", "decimal"):
        return round(value, 4)
    if kind == "datetime":
        return _local(value).isoformat(timespec="seconds")
    if kind == "date":
        return value.isoformat()
    return value


def _right(col: Column) -> bool:
    return col.kind != "text"


# ------------------------------------------------------------------ table
_MIN_WIDTH = {"Mã hồ sơ": 25, "STT": 3}

def write_table(report: Report, console: Console) -> None:
    console.print(f"[bold]{report.title}[/bold]")
    for line in report.header:
        console.print(line)
    for block in report.blocks:
        console.print()
        if isinstance(block, Paragraphs):
            console.print(f"[bold]{block.title}[/bold]")
            for line in block.lines:
                console.print(f"• {line}")
            continue
        if not block.rows:
            console.print(f"[bold]{block.title}[/bold]")
            console.print(block.empty)
            continue
        t = RichTable(title=block.title, title_justify="left", title_style="bold")
        for col in block.columns:
            t.add_column(col.header, justify="right" if _right(col) else "left", overflow="fold",
                         min_width=_MIN_WIDTH.get(col.header, 14 if col.kind == "text" else None),
                         no_wrap=col.header in _MIN_WIDTH)
        for row in block.rows:
            t.add_row(*(text(v, k) for v, k in _cells(block, row)))
        console.print(t)


# --------------------------------------------------------------- markdown
def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def write_markdown(report: Report) -> str:
    out = [f"# {report.title}", ""]
    out += [f"{line}  " for line in report.header]
    for block in report.blocks:
        out += ["", f"## {block.title}", ""]
        if isinstance(block, Paragraphs):
            out += [f"- {line}" for line in block.lines]
            continue
        if not block.rows:
            out.append(block.empty)
            continue
        out.append("| " + " | ".join(_md_escape(c.header) for c in block.columns) + " |")
        out.append("|" + "|".join("---:" if _right(c) else "---" for c in block.columns) + "|")
        for row in block.rows:
            out.append("| " + " | ".join(_md_escape(text(v, k)) for v, k in _cells(block, row)) + " |")
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------- csv
def write_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([report.title])
    for line in report.header:
        w.writerow([line])
    for block in report.blocks:
        w.writerow([])
        w.writerow([block.title])
        if isinstance(block, Paragraphs):
            for line in block.lines:
                w.writerow([line])
            continue
        w.writerow([c.header for c in block.columns])
        for row in block.rows:
            w.writerow([plain(v, k) for v, k in _cells(block, row)])
    return "\ufeff" + buf.getvalue()


# ------------------------------------------------------------------- xlsx
XLSX_FORMATS = {
    "int": "#,##0", "delta": "+#,##0;-#,##0;0", "rate": "0.0%", "pp": "+0.0%;-0.0%;0.0%",
    "score": "0.00", "score_delta": "+0.00;-0.00;0.00", "decimal": "0.0",
    "datetime": "dd/mm/yyyy hh:mm", "date": "dd/mm/yyyy",
}


def write_xlsx(report: Report, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = report.sheet[:31]
    bold = Font(bold=True)
    widths: dict[int, int] = {}
    ws.append([report.title])
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    for line in report.header:
        ws.append([line])
    for block in report.blocks:
        ws.append([])
        ws.append([block.title])
        ws.cell(row=ws.max_row, column=1).font = bold
        if isinstance(block, Paragraphs):
            for line in block.lines:
                ws.append([line])
            continue
        if not block.rows:
            ws.append([block.empty])
            continue
        ws.append([c.header for c in block.columns])
        for i, col in enumerate(block.columns, 1):
            cell = ws.cell(row=ws.max_row, column=i)
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in block.rows:
            values = list(_cells(block, row))
            ws.append([_xlsx_value(v, k) for v, k in values])
            for i, (v, k) in enumerate(values, 1):
                cell = ws.cell(row=ws.max_row, column=i)
                if k in XLSX_FORMATS and v is not None:
                    cell.number_format = XLSX_FORMATS[k]
                widths[i] = max(widths.get(i, 0), min(len(text(v, k)), 60))
    for i, w in widths.items():
        ws.column_dimensions[get_column_letter(i)].width = max(w + 2, 10)
    wb.properties.title = report.title
    wb.save(path)


def _xlsx_value(value: Any, kind: str) -> Any:
    if value is None:
        return DASH
    if isinstance(value, datetime):
        return _local(value).replace(tzinfo=None)  # Excel has no time zones: local wall time
    return value
