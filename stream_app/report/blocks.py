"""What a report is made of, for every format: sections of tables, paragraphs and charts.

A `Report` is a title, a few header lines and numbered `Section`s (the last ones
may be appendices); a section holds blocks: a `Table` (columns with a kind, so
each format shows the same value its own way), `Paragraphs` (sentences) or a
`Chart` (the figures of a picture; `charts` draws it). Nothing here reads the
store or formats a value, except `vn_number`, the one Vietnamese number format
every format and every sentence uses (1.309; 33,3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


def vn_number(x: float, decimals: int = 0) -> str:
    """A number as Vietnamese write it: "." between thousands, "," before decimals."""
    text = f"{abs(x):,.{decimals}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return ("-" if x < 0 and text.strip("0,.") else "") + text


@dataclass(frozen=True)
class Typed:
    """A cell whose kind differs from its column's (rows of mixed measures)."""

    value: Any
    kind: str


@dataclass
class Column:
    header: str
    kind: str = "text"  # int, delta, rate, pp, score, score_delta, decimal, date, datetime, text


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    empty: str = "Không có."
    note: str | None = None  # one sentence under the table (e.g. why a column is blank)


@dataclass
class Paragraphs:
    title: str
    lines: list[str]
    lists: bool = False  # the lines list dossier codes (the letter does not justify them)


@dataclass
class Series:
    name: str
    values: list[float | None]  # None: nothing to show that month (a gap in the line)
    emphasis: bool = False  # the province's line among the units'


@dataclass
class Chart:
    """A picture's figures: `lines` over `labels` (months), or `bars` by `labels` (causes)."""

    key: str  # file name stem with --charts, ASCII
    title: str
    kind: str  # "lines" | "bars"
    labels: list[str]
    series: list[Series]
    value_kind: str = "int"  # "rate" for fractions shown as percentages
    caption: str = ""


Block = Union[Table, Paragraphs, Chart]


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    appendix: bool = False  # after the signature in the letter; last in the other formats


@dataclass
class Report:
    title: str
    header: list[str]
    sections: list[Section] = field(default_factory=list)
    sheet: str = "bao-cao"
    month: str = ""  # MM/YYYY
    unit: str | None = None  # the unit's name when the report is of one unit

    @property
    def blocks(self) -> list[Block]:
        return [b for s in self.sections for b in s.blocks]

    def charts(self) -> list[Chart]:
        return [b for b in self.blocks if isinstance(b, Chart)]
