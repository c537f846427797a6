"""The task force's monthly report, in Vietnamese: figures, words and formats.

`make_report` reads the analytics views of one month and the month before
(`data`: totals, the change and its causes, the worst units and procedures, the
dossiers still overdue at the end of the month), puts them in words (`sections`),
adds the due-date audit of the provincial systems' promised dates (`audit`, its words in
`audit_section`), and `render` writes them as a terminal table, Markdown, CSV or Excel. The job
that opens the store and writes the file is `jobs.report`. May import: `store`
(identifiers), `domain`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.directory import Directory
from stream_app.report.audit_section import audit_blocks
from stream_app.report.data import load_month
from stream_app.report.sections import Report, build

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> date:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"--month must be YYYY-MM, e.g. 2023-11 (got {text!r})")
    return date(int(m.group(1)), int(m.group(2)), 1)


def make_report(client: Any, database: str, month: date, unit: str | None, *,
                calendar: WorkingCalendar, directory: Directory) -> Report:
    data = load_month(client, database, month, directory.resolve_unit(unit))
    if unit and not data.has_data and directory.resolve_unit(unit) not in directory.units:
        raise ValueError(f"unknown unit {unit!r}: give a receiving unit code such as 001.22.31.H53")
    report = build(data, directory, calendar)
    report.blocks.extend(audit_blocks(data.audit, directory))  # section VI, the due-date audit (issue 21)
    return report
