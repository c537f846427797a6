"""The monthly report as an administrative letter in Word (Decree 30/2020/NĐ-CP, Appendix I).

`write_docx(report, letter, path, issued=None)` lays out a `blocks.Report` with
python-docx: A4, margins top and bottom 20 mm, left 30 mm, right 15 mm; Times
New Roman. The header block is a two-column borderless table: the superior body
(12 pt, upper case) and the issuing body (12 pt, upper case, bold) over a short
rule; on the right the national name (12 pt, bold, upper case: at 13 pt it does
not fit one line of the column) and the motto (14 pt, bold) over a rule as long
as the motto; under both, on one line, "Số: …/symbol" (13 pt) and the place and
date (14 pt, italic). Then the document type (14 pt, bold, upper
case, centred) with its subject under it (14 pt, bold) over a short rule; the
body in 14 pt, justified, first-line indent 1,27 cm, 6 pt between paragraphs;
sections "I.", "II." and their parts "1.", "2." in bold; tables in 10–12 pt by
their width, their header row repeated on each page; charts as pictures 16 cm
wide with a caption. Then "Nơi nhận:" (12 pt, bold italic) with its list (11 pt)
on the left and the signer's authority and title (14 pt, bold, upper case) on
the right, the name left blank for the signer unless configured; then each
appendix on a landscape page of its own ("Phụ lục", 14 pt bold). Page numbers
(14 pt) are centred in the top margin from page 2. Every text comes from the
report or the configuration (`letter.Letter`), never from here.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import date
from functools import lru_cache
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from stream_app.report.blocks import Chart, Paragraphs, Report, Table
from stream_app.report.charts import draw
from stream_app.report.letter import Letter
from stream_app.report.render import cells, text

FONT = "Times New Roman"
A4 = (Cm(21.0), Cm(29.7))
MARGINS = {"top": Cm(2.0), "bottom": Cm(2.0), "left": Cm(3.0), "right": Cm(1.5)}
TEXT_WIDTH_CM = 21.0 - 3.0 - 1.5
LANDSCAPE_TEXT_WIDTH_CM = 29.7 - 3.0 - 1.5
BODY_PT, INDENT = 14, Cm(1.27)
HEADER_COLUMNS_CM = (7.4, 9.1)  # "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG" fits a line; so does the national name
BLANK = "\u00a0" * 7  # room to write a day or a number by hand


# ------------------------------------------------------------ text widths
@lru_cache(maxsize=2)
def _advance_widths(bold: bool) -> dict[int, int]:
    """Times' advance widths (1/1000 em) from the Adobe metrics matplotlib ships."""
    import matplotlib

    afm = Path(matplotlib.get_data_path()) / "fonts" / "afm" / ("ptmb8a.afm" if bold else "ptmr8a.afm")
    widths: dict[int, int] = {}
    for line in afm.read_text("latin-1").splitlines():
        if line.startswith("C "):
            fields = dict(part.strip().split(" ", 1) for part in line.split(";") if part.strip())
            if int(fields["C"]) >= 0:
                widths[int(fields["C"])] = int(fields["WX"])
    return widths


def text_width_cm(s: str, size_pt: float, bold: bool = False) -> float:
    """About how wide `s` prints in Times New Roman (Vietnamese letters measured by their base letter)."""
    widths = _advance_widths(bold)
    total = 0
    for ch in s:
        base = {"Đ": "D", "đ": "d"}.get(ch) or unicodedata.normalize("NFD", ch)[0]
        total += widths.get(ord(base), 500)
    return total / 1000 * size_pt / 72 * 2.54


# --------------------------------------------------------------- helpers
def _run(p, s: str, size: float, *, bold: bool = False, italic: bool = False):  # noqa: ANN001, ANN202
    r = p.add_run(s)
    r.font.size, r.font.bold, r.font.italic = Pt(size), bold, italic
    return r


def _para(container, s: str = "", size: float = BODY_PT, *, bold: bool = False, italic: bool = False,  # noqa: ANN001
          align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = False, before: float = 0, after: float = 0,
          keep: bool = False):  # noqa: ANN202
    """A paragraph of one run; `keep`: on the same page as the next (a title, a picture)."""
    p = container.add_paragraph()
    f = p.paragraph_format
    f.alignment, f.space_before, f.space_after = align, Pt(before), Pt(after)
    f.keep_with_next = keep
    f.line_spacing = 1.0
    if indent:
        f.first_line_indent = INDENT
    if s:
        _run(p, s, size, bold=bold, italic=italic)
    return p


def _rule(container, width_cm: float, column_cm: float) -> None:  # noqa: ANN001
    """A solid rule `width_cm` long, centred in a column: the bottom border of an indented empty paragraph."""
    p = _para(container, align=WD_ALIGN_PARAGRAPH.CENTER)
    f = p.paragraph_format
    side = Cm(max((column_cm - width_cm) / 2, 0))
    f.left_indent = f.right_indent = side
    f.line_spacing_rule, f.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(5)  # clear of the descenders above
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("val", "single"), ("sz", "6"), ("space", "0"), ("color", "000000")):
        bottom.set(qn(f"w:{k}"), v)
    border.append(bottom)
    p._p.get_or_add_pPr().append(border)


def _no_borders(table) -> None:  # noqa: ANN001
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    table._tbl.tblPr.append(borders)


def _layout_table(doc, widths_cm: tuple[float, ...]):  # noqa: ANN001, ANN202
    """A borderless table without cell padding: the columns of the header and of the signature."""
    table = doc.add_table(rows=1, cols=len(widths_cm))
    _no_borders(table)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), "0")
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    table._tbl.tblPr.append(margins)
    table.autofit = False
    for column, cell, w in zip(table.columns, table.rows[0].cells, widths_cm):
        column.width = cell.width = Cm(w)  # the grid for LibreOffice, the cell for Word
        cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)  # start each cell empty
    return table


def _page_numbers(section) -> None:  # noqa: ANN001
    """The page number centred in the top margin, not on the first page (Decree 30, Appendix I)."""
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    r = _run(p, "", BODY_PT)
    r._r.getparent().remove(r._r)
    field.append(r._r)
    p._p.append(field)


# ------------------------------------------------------------ the letter
def date_line(letter: Letter, month: date, issued: date | None) -> str:
    """"Tây Ninh, ngày 05 tháng 3 năm 2024": days below 10 and months 1, 2 written with a leading 0."""
    if letter.date == "today" and issued is not None:
        m = f"{issued.month:02d}" if issued.month < 3 else str(issued.month)
        return f"{letter.place}, ngày {issued.day:02d} tháng {m} năm {issued.year}"
    # Left for the signing date; the report of a month is issued in the month after it.
    year = month.year + (month.month == 12)
    return f"{letter.place}, ngày{BLANK}tháng{BLANK}năm {year}"


def number_line(letter: Letter) -> str:
    number = letter.number.strip()
    if number.isdigit() and int(number) < 10:
        number = f"{int(number):02d}"
    return f"Số: {number or BLANK}/{letter.symbol}"


def _header(doc, letter: Letter, month: date, issued: date | None) -> None:  # noqa: ANN001
    left_cm, right_cm = HEADER_COLUMNS_CM
    table = _layout_table(doc, HEADER_COLUMNS_CM)
    left, right = table.rows[0].cells
    center = WD_ALIGN_PARAGRAPH.CENTER
    for line in letter.superior_body.upper().splitlines():  # a line break in the file is kept
        _para(left, line, 12, align=center)
    for line in letter.issuing_body.upper().splitlines():
        _para(left, line, 12, bold=True, align=center)
    longest = max(letter.issuing_body.upper().splitlines() or [""], key=len)
    _rule(left, min(left_cm - 1, max(1.5, text_width_cm(longest, 12, True) * 0.4)), left_cm)
    _para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True, align=center)
    motto = "Độc lập - Tự do - Hạnh phúc"
    _para(right, motto, 14, bold=True, align=center)
    _rule(right, text_width_cm(motto, 14, True), right_cm)
    # The number and the date on one line, under the two blocks however many lines each took.
    number, dated = table.add_row().cells
    for cell, w in zip((number, dated), HEADER_COLUMNS_CM):
        cell.width = Cm(w)
    for cell in (number, dated):  # a new cell comes with one empty paragraph
        cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)
    _para(number, number_line(letter), 13, align=center, before=6)
    _para(dated, date_line(letter, month, issued), 14, italic=True, align=center, before=6)


def _subject(report: Report, letter: Letter) -> str:
    if report.unit:
        return letter.subject_unit.format(month=report.month, unit=report.unit)
    return letter.subject.format(month=report.month)


def _table(doc, block: Table, width_cm: float) -> None:  # noqa: ANN001
    if block.title:
        _para(doc, block.title, BODY_PT, bold=True, indent=True, before=6, after=3, keep=True)
    if not block.rows:
        _para(doc, block.empty, BODY_PT, indent=True, after=6)
        return
    size = 12 if len(block.columns) <= 5 else 11 if len(block.columns) <= 8 else 10
    table = doc.add_table(rows=1, cols=len(block.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    shown = [[text(v, k) for v, k in cells(block, row)] for row in block.rows]
    widths = [Cm(w) for w in column_widths(block, shown, size, width_cm)]
    for column, w in zip(table.columns, widths):
        column.width = w
    header = table.rows[0]
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(flag)
    for cell, col, w in zip(header.cells, block.columns, widths):
        cell.width = w
        p = cell.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(p, col.header, size, bold=True)
    for values in shown:
        row = table.add_row()
        keep = OxmlElement("w:cantSplit")  # a row stays on one page
        keep.set(qn("w:val"), "true")
        row._tr.get_or_add_trPr().append(keep)
        row_cells = row.cells
        for cell, col, value, w in zip(row_cells, block.columns, values, widths):
            cell.width = w
            p = cell.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT if col.kind == "text" else WD_ALIGN_PARAGRAPH.RIGHT
            _run(p, value, size, bold=values[0] == "Cộng")
    if block.note:
        _para(doc, block.note, 12, italic=True, before=3)
    _para(doc, "", 6)


def column_widths(block: Table, shown: list[list[str]], size: float, width_cm: float) -> list[float]:
    """Column widths (cm) filling `width_cm`: figures and dossier codes never wrap, a header wraps
    into at most three lines and only between words, the text columns take what is left."""
    pad = 0.45  # the cell's padding and a little air

    def widest(strings: list[str], bold: bool = False) -> float:
        return max((text_width_cm(x, size, bold) for x in strings), default=0.0)

    least, wanted = [], []
    for i, col in enumerate(block.columns):
        header = max(widest(col.header.split(), bold=True), text_width_cm(col.header, size, True) / 3)
        values = widest([r[i] for r in shown])
        if col.kind == "text" and col.header != "Mã hồ sơ":
            least.append(max(header, min(values, 2.0)) + pad)
            wanted.append(max(header, values) + pad)
        else:
            least.append(max(header, values) + pad)
            wanted.append(least[-1])
    spare = width_cm - sum(least)
    if spare <= 0:
        return [w * width_cm / sum(least) for w in least]
    growth = [w - m for w, m in zip(wanted, least)]
    if sum(growth) > spare:
        return [m + spare * g / sum(growth) for m, g in zip(least, growth)]
    # Everything fits on one line: the rest goes to the text columns, evenly.
    text_cols = [i for i, c in enumerate(block.columns) if c.kind == "text"] or list(range(len(least)))
    extra = (spare - sum(growth)) / len(text_cols)
    return [w + (extra if i in text_cols else 0) for i, w in enumerate(wanted)]


def _chart(doc, chart: Chart, n: int, width_cm: float) -> None:  # noqa: ANN001
    p = _para(doc, align=WD_ALIGN_PARAGRAPH.CENTER, before=6, keep=True)
    p.add_run().add_picture(io.BytesIO(draw(chart)), width=Cm(min(16.0, width_cm)))
    _para(doc, f"Biểu đồ {n}. {chart.caption or chart.title}", 12, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER,
          after=6)


def _blocks(doc, blocks, width_cm: float, charts: list[int]) -> None:  # noqa: ANN001
    for block in blocks:
        if isinstance(block, Paragraphs):
            if block.title:
                _para(doc, block.title, BODY_PT, bold=True, indent=True, before=6, after=3, keep=True)
            # Lines that list dossier codes are not justified: a code does not break, so the spaces would.
            align = WD_ALIGN_PARAGRAPH.LEFT if block.lists else WD_ALIGN_PARAGRAPH.JUSTIFY
            for line in block.lines:
                _para(doc, f"- {line}", BODY_PT, indent=True, after=6, align=align)
        elif isinstance(block, Chart):
            charts.append(len(charts) + 1)
            _chart(doc, block, len(charts), width_cm)
        else:
            _table(doc, block, width_cm)


def _signature(doc, letter: Letter) -> None:  # noqa: ANN001
    table = _layout_table(doc, (8.0, 8.5))
    left, right = table.rows[0].cells
    _para(left, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in letter.recipients:
        _para(left, f"- {line}", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    for title in letter.signer_titles:
        _para(right, title.upper(), 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for _ in range(4):  # room for the signature and the seal
        _para(right, "", 14)
    _para(right, letter.signer_name, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)


def _appendix(doc, report: Report, letter: Letter, title: str, blocks, n: int, charts: list[int]) -> None:  # noqa: ANN001
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = A4[1], A4[0]
    section.different_first_page_header_footer = False  # the number shows on every appendix page
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, "Phụ lục" if n == 1 else f"Phụ lục {n}", 14, bold=True, align=center)
    name = title.split(". ", 1)[1] if title.startswith("Phụ lục") and ". " in title else title
    _para(doc, name.upper(), 14, bold=True, align=center)
    _para(doc, f"(Kèm theo Báo cáo số{BLANK}/{letter.symbol} ngày{BLANK}tháng{BLANK}năm{BLANK} của {letter.issuer})",
          14, italic=True, align=center)
    _rule(doc, 4.0, LANDSCAPE_TEXT_WIDTH_CM)
    _para(doc, "", 6)
    _blocks(doc, blocks, LANDSCAPE_TEXT_WIDTH_CM, charts)


def write_docx(report: Report, letter: Letter, path: Path, *, month: date, issued: date | None = None) -> None:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(BODY_PT)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("ascii", "hAnsi", "cs", "eastAsia"):
        fonts.set(qn(f"w:{attr}"), FONT)
    section = doc.sections[0]
    section.page_width, section.page_height = A4
    for side, value in MARGINS.items():
        setattr(section, f"{side}_margin", value)
    _page_numbers(section)
    props = doc.core_properties
    props.title, props.subject, props.author = report.title, _subject(report, letter), letter.issuer

    _header(doc, letter, month, issued)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, letter.document_type.upper(), 14, bold=True, align=center, before=18)
    subject = _subject(report, letter)
    _para(doc, subject, 14, bold=True, align=center)
    _rule(doc, min(TEXT_WIDTH_CM / 2, max(3.0, text_width_cm(subject, 14, True) / 3)), TEXT_WIDTH_CM)
    if letter.addressee:
        _para(doc, f"Kính gửi: {letter.addressee}", 14, align=center, before=6)
    _para(doc, "", 6)
    _para(doc, letter.preamble.format(month=report.month, issuer=letter.issuer), indent=True, after=6)
    for line in report.header:
        _para(doc, line, 13, italic=True, indent=True, after=3)
    charts: list[int] = []
    for s in report.sections:
        if not s.appendix:
            _para(doc, s.title.upper(), BODY_PT, bold=True, indent=True, before=12, after=6, keep=True)
            _blocks(doc, s.blocks, TEXT_WIDTH_CM, charts)
    _para(doc, letter.closing.format(month=report.month, issuer=letter.issuer), indent=True, before=6, after=12)
    _signature(doc, letter)
    for n, s in enumerate((s for s in report.sections if s.appendix), 1):
        _appendix(doc, report, letter, s.title, s.blocks, n, charts)
    doc.save(str(path))
