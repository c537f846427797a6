"""The task force's monthly report, in Vietnamese: figures, words, remedies, formats, the letter.

`make_report` reads the analytics views of one month and the month before
(`data`, with the dossiers the remedies name from `dossiers`), puts them in
words as numbered sections (`sections`, over the shared phrases of `words` and
the block model of `blocks`), proposes remedies from the administrator's
templates (`remedies`, `letter`); `render` writes the report as a terminal
table, Markdown, CSV or Excel, `word` as the administrative letter in Word
(Decree 30/2020/NĐ-CP) with the pictures of `charts`; `audit` and `audit_section` add
the due-date audit of the provincial systems' promised dates. The job that opens the
store, reads the configuration file and writes the files is `jobs.report`.
May import: `store` (identifiers), `domain`; python-docx, matplotlib, openpyxl, rich.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.directory import Directory
from stream_app.report.blocks import Report
from stream_app.report.data import load_month
from stream_app.report.letter import Remedies
from stream_app.report.sections import build

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
HISTORY_MONTHS = 12  # the overdue-rate chart's span


def parse_month(text: str) -> date:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"--month must be YYYY-MM, e.g. 2023-11 (got {text!r})")
    return date(int(m.group(1)), int(m.group(2)), 1)


def make_report(client: Any, database: str, month: date, unit: str | None, *,
                calendar: WorkingCalendar, directory: Directory, remedies: Remedies,
                charts: bool = False) -> Report:
    """The report of `month`; with `charts`, also the 12 months of history its pictures need."""
    code = directory.resolve_unit(unit)
    data = load_month(client, database, month, code, history_months=HISTORY_MONTHS if charts else 0)
    if unit and not data.has_data and code not in directory.units:
        raise ValueError(f"unknown unit {unit!r}: give a receiving unit code such as 001.22.31.H53")
    return build(data, directory, calendar, remedies)
