"""The monthly report in words: Vietnamese sections built from `data.MonthData`.

A report is a title, a few header lines and a list of blocks (tables and
paragraphs). Each table column has a kind (`int`, `delta`, `rate`, `pp`,
`score`, `score_delta`, `decimal`, `date`, `datetime`, `text`) so that every format
shows the same value its own way: Vietnamese text in the terminal and Markdown,
plain numbers in CSV, typed cells in Excel. Units and procedures are shown by
name (`Directory`); codes stay in the list of dossiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.directory import Directory
from stream_app.report.data import CAUSES, Figures, MonthData

CAUSE_LABELS = {
    "overdue_tax": "Cơ quan thuế chậm thông báo nghĩa vụ tài chính",
    "overdue_open_after_completion": "Đã có kết quả nhưng chậm kết thúc hồ sơ trên hệ thống",
    "overdue_supplement": "Hồ sơ phải bổ sung, hoàn thiện",
    "overdue_unit_held": "Đơn vị xử lý giữ hồ sơ quá phần thời gian",
}
CAUSE_OF_STATE = {"tax": "overdue_tax", "open_after_completion": "overdue_open_after_completion",
                  "supplement": "overdue_supplement", "unit": "overdue_unit_held"}
TOP_PROCEDURES = 10


@dataclass(frozen=True)
class Typed:
    """A cell whose kind differs from its column's (rows of mixed measures)."""

    value: Any
    kind: str


@dataclass
class Column:
    header: str
    kind: str = "text"


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    empty: str = "Không có."


@dataclass
class Paragraphs:
    title: str
    lines: list[str]


@dataclass
class Report:
    title: str
    header: list[str]
    blocks: list[Table | Paragraphs] = field(default_factory=list)
    sheet: str = "bao-cao"


def month_label(d: Any) -> str:
    return f"{d.month:02d}/{d.year}"


def vn_number(x: float, decimals: int) -> str:
    text = f"{abs(x):,.{decimals}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return ("-" if x < 0 and text.strip("0,.") else "") + text


def _change_words(now: float | None, before: float | None, unit: str, decimals: int = 0, scale: float = 1) -> str:
    if now is None or before is None:
        return "chưa so sánh được"
    diff = (now - before) * scale
    if round(diff, decimals) == 0:
        return "không đổi"
    return f"{'tăng' if diff > 0 else 'giảm'} {vn_number(abs(diff), decimals)}{unit}"


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def build(data: MonthData, directory: Directory, calendar: WorkingCalendar) -> Report:
    now, before = data.total, data.total_before
    scope = f"đơn vị {directory.unit_name(data.unit)}" if data.unit else f"toàn tỉnh ({len(data.units)} đơn vị tiếp nhận)"
    header = [f"Phạm vi: {scope}."]
    if data.watermark is not None:
        header.append(f"Số liệu tính đến: {data.watermark.astimezone(calendar.tz):%d/%m/%Y %H:%M} (giờ Việt Nam).")
    header.append("Hồ sơ được tính vào tháng kết thúc; trước hạn, đúng hạn, quá hạn xét theo ngày "
                  "(Quyết định 766/QĐ-TTg).")
    if not data.has_data:
        header.append(f"Không có số liệu cho tháng {month_label(data.month)}.")
    report = Report(f"BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ ĐẤT ĐAI THÁNG {month_label(data.month)}", header,
                    sheet=f"{data.month:%Y-%m}")
    report.blocks.append(_totals(data, now, before))
    report.blocks.append(_changes(now, before))
    report.blocks.append(_causes(now, before))
    report.blocks.append(_units(data, directory))
    report.blocks.append(_held(data, directory))
    report.blocks.append(_procedures(data, directory))
    report.blocks.append(_still_overdue(data, directory, calendar))
    return report


def _totals(data: MonthData, now: Figures, before: Figures) -> Table:
    def counts(label: str, key: str) -> list[Any]:
        return [label, now[key], before[key], now[key] - before[key]]

    def measure(label: str, a: float | None, b: float | None, kind: str, delta: str) -> list[Any]:
        return [label, Typed(a, kind), Typed(b, kind), Typed(_sub(a, b), delta)]

    return Table(
        "I. Kết quả giải quyết hồ sơ",
        [Column("Chỉ tiêu"), Column(f"Tháng {month_label(data.month)}", "int"),
         Column(f"Tháng {month_label(data.previous)}", "int"), Column("Thay đổi", "delta")],
        [
            counts("Hồ sơ tiếp nhận", "received"),
            counts("Hồ sơ đã giải quyết", "finished"),
            counts("– trước hạn", "finished_early"),
            counts("– đúng hạn", "finished_on_time"),
            counts("– quá hạn", "finished_overdue"),
            measure("Tỷ lệ giải quyết quá hạn", now.overdue_rate, before.overdue_rate, "rate", "pp"),
            counts("Hồ sơ đang giải quyết cuối tháng", "open_at_month_end"),
            counts("– trong đó quá hạn", "open_overdue_at_month_end"),
            measure("Điểm tiến độ giải quyết (tối đa 20)", now.timeliness_score, before.timeliness_score,
                    "score", "score_delta"),
            measure("Tỷ lệ số hóa kết quả giải quyết", now.digitised_rate, before.digitised_rate, "rate", "pp"),
            measure("Tỷ lệ thanh toán trực tuyến", now.online_payment_rate, before.online_payment_rate, "rate", "pp"),
        ],
    )


def _changes(now: Figures, before: Figures) -> Paragraphs:
    def pct(x: float | None) -> str:
        return "—" if x is None else f"{vn_number(100 * x, 1)}%"

    lines = [
        f"Hồ sơ giải quyết quá hạn: {now['finished_overdue']}, tháng trước {before['finished_overdue']} "
        f"({_change_words(now['finished_overdue'], before['finished_overdue'], ' hồ sơ')}).",
        f"Tỷ lệ giải quyết quá hạn: {pct(now.overdue_rate)}, tháng trước {pct(before.overdue_rate)} "
        f"({_change_words(now.overdue_rate, before.overdue_rate, ' điểm phần trăm', 1, 100)}).",
        f"Hồ sơ đang giải quyết quá hạn cuối tháng: {now['open_overdue_at_month_end']}, tháng trước "
        f"{before['open_overdue_at_month_end']} "
        f"({_change_words(now['open_overdue_at_month_end'], before['open_overdue_at_month_end'], ' hồ sơ')}).",
    ]
    if now["finished_overdue"]:
        top = max(now[c] for c in CAUSES)
        main = "; ".join(CAUSE_LABELS[c].lower() for c in CAUSES if now[c] == top)
        lines.append(f"Nguyên nhân chủ yếu: {main} ({top}/{now['finished_overdue']} hồ sơ quá hạn"
                     f"{' mỗi nguyên nhân' if main.count(';') else ''}).")
    moves = sorted(((now[c] - before[c], c) for c in CAUSES), key=lambda m: (-abs(m[0]), CAUSES.index(m[1])))
    for diff, cause in moves:
        if diff:
            lines.append(f"{'Tăng' if diff > 0 else 'Giảm'} nhiều nhất so với tháng trước: "
                         f"{CAUSE_LABELS[cause].lower()} ({'+' if diff > 0 else '-'}{abs(diff)} hồ sơ).")
            break
    return Paragraphs("II. Biến động so với tháng trước và nguyên nhân", lines)


def _causes(now: Figures, before: Figures) -> Table:
    rows = [[CAUSE_LABELS[c], now[c], before[c], now[c] - before[c]] for c in CAUSES]
    rows.append(["Cộng", now["finished_overdue"], before["finished_overdue"],
                 now["finished_overdue"] - before["finished_overdue"]])
    return Table("Nguyên nhân hồ sơ giải quyết quá hạn",
                 [Column("Nguyên nhân"), Column("Tháng này", "int"), Column("Tháng trước", "int"),
                  Column("Thay đổi", "delta")], rows)


def _units(data: MonthData, directory: Directory) -> Table:
    ordered = sorted(data.units, key=lambda u: (-u.now.overdue_total, -(u.now.overdue_rate or 0),
                                                directory.unit_name(u.unit)))
    rows = [[directory.unit_name(u.unit), u.now["received"], u.now["finished"], u.now["finished_overdue"],
             u.now.overdue_rate, _sub(u.now.overdue_rate, u.before.overdue_rate),
             u.now["open_overdue_at_month_end"], u.now.timeliness_score, u.now.digitised_rate]
            for u in ordered]
    return Table("III. Đơn vị tiếp nhận (đơn vị nhiều hồ sơ quá hạn nhất trước)",
                 [Column("Đơn vị"), Column("Tiếp nhận", "int"), Column("Đã giải quyết", "int"),
                  Column("Quá hạn", "int"), Column("Tỷ lệ quá hạn", "rate"),
                  Column("So với tháng trước", "pp"), Column("Đang quá hạn cuối tháng", "int"),
                  Column("Điểm tiến độ", "score"), Column("Tỷ lệ số hóa", "rate")], rows)


def _held(data: MonthData, directory: Directory) -> Table:
    return Table("Đơn vị giữ hồ sơ quá hạn lâu nhất so với phần thời gian của mình (hồ sơ kết thúc trong tháng)",
                 [Column("Đơn vị"), Column("Số hồ sơ quá hạn", "int"), Column("Giờ làm việc đã giữ", "decimal")],
                 [[directory.unit_name(u), n, hours] for u, n, hours in data.held])


def _procedures(data: MonthData, directory: Directory) -> Table:
    ordered = sorted(data.procedures, key=lambda p: (-(p.finished_overdue + p.open_overdue),
                                                     -(p.overdue_rate or 0), p.procedure_code))
    rows = [[directory.procedure_name(p.procedure_code), p.finished, p.finished_overdue, p.overdue_rate,
             p.open_overdue] for p in ordered[:TOP_PROCEDURES]]
    return Table(f"IV. Thủ tục (tối đa {TOP_PROCEDURES} thủ tục nhiều hồ sơ quá hạn nhất)",
                 [Column("Thủ tục"), Column("Đã giải quyết", "int"), Column("Quá hạn", "int"),
                  Column("Tỷ lệ quá hạn", "rate"), Column("Đang quá hạn cuối tháng", "int")], rows)


def _still_overdue(data: MonthData, directory: Directory, calendar: WorkingCalendar) -> Table:
    period_end = datetime(data.month.year + data.month.month // 12, data.month.month % 12 + 1, 1, tzinfo=calendar.tz)
    until = min(period_end, data.watermark) if data.watermark else period_end
    rows = []
    for n, s in enumerate(data.still_overdue, 1):
        late = calendar.between(s.due_at, until) / calendar.working_day if s.due_at else None
        state = "Đang giải quyết" if s.finished_at is None else \
            f"Đã kết thúc {s.finished_at.astimezone(calendar.tz):%d/%m/%Y}"
        cause = CAUSE_LABELS.get(CAUSE_OF_STATE.get(s.overdue_cause or "", ""), "—")
        rows.append([n, s.dossier_id, directory.procedure_name(s.procedure_code), directory.unit_name(s.unit),
                     directory.unit_name(s.current_unit), s.received_at, s.due_at, late, cause, state])
    return Table(f"V. Danh sách hồ sơ còn quá hạn cuối tháng {month_label(data.month)}",
                 [Column("STT", "int"), Column("Mã hồ sơ"), Column("Thủ tục"), Column("Đơn vị tiếp nhận"),
                  Column("Đơn vị đang giữ"), Column("Ngày tiếp nhận", "datetime"), Column("Hạn giải quyết", "datetime"),
                  Column("Số ngày làm việc quá hạn", "decimal"), Column("Nguyên nhân (hiện tại)"),
                  Column("Tình trạng hiện nay")], rows, empty="Không có hồ sơ quá hạn.")
