"""The text formats of the monthly report: terminal table, Markdown, CSV, Excel.

Each takes a `blocks.Report` and writes its sections in order, charts left
out (they are pictures: the Word letter embeds them, `--charts` writes them).
Text formats (table, md) show Vietnamese numbers (33,3%; 1.234; dates
dd/mm/yyyy); CSV is for machines (plain numbers, rates as fractions 0–1, ISO
dates, UTF-8 with a BOM so that Excel shows the diacritics) with each section
after a blank row and a one-cell title row; Excel gets typed cells with number
formats, one sheet. `text` is also how the Word letter shows a cell.
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
from stream_app.report.blocks import (
    Block,
    Chart,
    Column,
    Paragraphs,
    Report,
    Table,
    Typed,
    vn_number,
)

DASH = "—"


def cells(table: Table, row: list[Any]) -> Iterable[tuple[Any, str]]:
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


def _titled(report: Report) -> Iterable[tuple[str, Block]]:
    """Each block with the heading to show above it: its section's title before its first block."""
    for section in report.sections:
        yield "section", Paragraphs(section.title, [])
        for block in section.blocks:
            if not isinstance(block, Chart):  # pictures are for the letter and --charts
                yield "block", block


def write_table(report: Report, console: Console) -> None:
    console.print(f"[bold]{report.title}[/bold]")
    for line in report.header:
        console.print(line)
    for level, block in _titled(report):
        if level == "section":
            console.print()
            console.print(f"[bold]{block.title}[/bold]")
            continue
        if isinstance(block, Paragraphs):
            if block.title:
                console.print(f"[bold]{block.title}[/bold]")
            for line in block.lines:
                console.print(f"• {line}")
            continue
        if not block.rows:
            if block.title:
                console.print(f"[bold]{block.title}[/bold]")
            console.print(block.empty)
        else:
            t = RichTable(title=block.title or None, title_justify="left", title_style="bold")
            for col in block.columns:
                t.add_column(col.header, justify="right" if _right(col) else "left", overflow="fold",
                             min_width=_MIN_WIDTH.get(col.header, 14 if col.kind == "text" else None),
                             no_wrap=col.header in _MIN_WIDTH)
            for row in block.rows:
                t.add_row(*(text(v, k) for v, k in cells(block, row)))
            console.print(t)
        if block.note:
            console.print(f"[italic]{block.note}[/italic]")


# --------------------------------------------------------------- markdown
def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def write_markdown(report: Report) -> str:
    out = [f"# {report.title}", ""]
    out += [f"{line}  " for line in report.header]
    for level, block in _titled(report):
        if level == "section":
            out += ["", f"## {block.title}"]
            continue
        if block.title:
            out += ["", f"### {block.title}"]
        out.append("")
        if isinstance(block, Paragraphs):
            out += [f"- {line}" for line in block.lines]
            continue
        if not block.rows:
            out.append(block.empty)
        else:
            out.append("| " + " | ".join(_md_escape(c.header) for c in block.columns) + " |")
            out.append("|" + "|".join("---:" if _right(c) else "---" for c in block.columns) + "|")
            for row in block.rows:
                out.append("| " + " | ".join(_md_escape(text(v, k)) for v, k in cells(block, row)) + " |")
        if block.note:
            out += ["", f"_{block.note}_"]
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------- csv
def write_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([report.title])
    for line in report.header:
        w.writerow([line])
    for level, block in _titled(report):
        if level == "section":
            w.writerow([])
            w.writerow([block.title])
            continue
        if block.title:
            w.writerow([block.title])
        if isinstance(block, Paragraphs):
            for line in block.lines:
                w.writerow([line])
            continue
        w.writerow([c.header for c in block.columns])
        for row in block.rows:
            w.writerow([plain(v, k) for v, k in cells(block, row)])
        if block.note:
            w.writerow([block.note])
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
    for level, block in _titled(report):
        if level == "section":
            ws.append([])
            ws.append([block.title])
            ws.cell(row=ws.max_row, column=1).font = bold
            continue
        if block.title:
            ws.append([block.title])
            ws.cell(row=ws.max_row, column=1).font = bold
        if isinstance(block, Paragraphs):
            for line in block.lines:
                ws.append([line])
            continue
        if not block.rows:
            ws.append([block.empty])
        else:
            ws.append([c.header for c in block.columns])
            for i, col in enumerate(block.columns, 1):
                cell = ws.cell(row=ws.max_row, column=i)
                cell.font = bold
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for row in block.rows:
                values = list(cells(block, row))
                ws.append([_xlsx_value(v, k) for v, k in values])
                for i, (v, k) in enumerate(values, 1):
                    cell = ws.cell(row=ws.max_row, column=i)
                    if k in XLSX_FORMATS and v is not None:
                        cell.number_format = XLSX_FORMATS[k]
                    widths[i] = max(widths.get(i, 0), min(len(text(v, k)), 60))
        if block.note:
            ws.append([block.note])
            ws.cell(row=ws.max_row, column=1).font = Font(italic=True)
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
