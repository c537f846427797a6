"""The monthly report in words: Vietnamese sections built from `data.MonthData`.

`build` runs `SECTIONS`, the one list of section builders, in order: I. the
results against the previous month; II. the change and its reasons (overdue
by cause, the rules broken in the month, with a chart); III. the receiving
units, sorted by the overdue sum they show, with the 12-month chart; IV. the
procedures; V. the remedies (`remedies`); and the appendix of dossiers still
overdue at the month's end. A new section is one more builder in `SECTIONS`.
Each table column has a kind so that every format shows the same value its
own way (`blocks`). Units and procedures are shown by name (`Directory`);
codes stay in the lists of dossiers. When the previous month has no data
(nothing finished in it) no change is computed: the tables leave it blank and
the sentences say "chưa có số liệu tháng trước".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.directory import Directory
from stream_app.report.blocks import (
    Chart,
    Column,
    Paragraphs,
    Report,
    Section,
    Series,
    Table,
    Typed,
    vn_number,
)
from stream_app.report.audit_section import audit_section
from stream_app.report.data import CAUSES, MonthData
from stream_app.report.letter import Remedies
from stream_app.report.remedies import remedies
from stream_app.report.words import (
    CAUSE_LABELS,
    CAUSE_OF_STATE,
    NO_PREVIOUS,
    SHORTCOMING_LABELS,
    change_words,
    count,
    month_label,
    pct,
)

__all__ = ["CAUSE_LABELS", "SECTIONS", "Report", "build", "month_label", "vn_number"]

TOP_PROCEDURES = 10
TOP_MOVERS = 3


@dataclass(frozen=True)
class Inputs:
    data: MonthData
    directory: Directory
    calendar: WorkingCalendar
    remedies: Remedies


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def build(data: MonthData, directory: Directory, calendar: WorkingCalendar, remedy_texts: Remedies) -> Report:
    inputs = Inputs(data, directory, calendar, remedy_texts)
    scope = f"đơn vị {directory.unit_name(data.unit)}" if data.unit else f"toàn tỉnh ({len(data.units)} đơn vị tiếp nhận)"
    header = [f"Phạm vi: {scope}."]
    if data.watermark is not None:
        header.append(f"Số liệu tính đến: {data.watermark.astimezone(calendar.tz):%d/%m/%Y %H:%M} (giờ Việt Nam).")
    header.append("Hồ sơ được tính vào tháng kết thúc; trước hạn, đúng hạn, quá hạn xét theo ngày "
                  "(Quyết định 766/QĐ-TTg).")
    if not data.has_data:
        header.append(f"Không có số liệu cho tháng {month_label(data.month)}.")
    report = Report(f"BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ ĐẤT ĐAI THÁNG {month_label(data.month)}", header,
                    sheet=f"{data.month:%Y-%m}", month=month_label(data.month),
                    unit=directory.unit_name(data.unit) if data.unit else None)
    for builder in SECTIONS:
        section = builder(inputs)
        if section is not None:
            report.sections.append(section)
    return report


# ------------------------------------------------------------------ I. results
def results(inputs: Inputs) -> Section:
    data, now, before = inputs.data, inputs.data.total, inputs.data.total_before
    known = data.has_previous

    def counts(label: str, key: str) -> list[Any]:
        return [label, now[key], before[key] if known else None, now[key] - before[key] if known else None]

    def measure(label: str, a: float | None, b: float | None, kind: str, delta: str) -> list[Any]:
        b = b if known else None
        return [label, Typed(a, kind), Typed(b, kind), Typed(_sub(a, b), delta)]

    table = Table(
        "",
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
        note=None if known else f"Tháng {month_label(data.previous)}: {NO_PREVIOUS}, chưa so sánh được.",
    )
    return Section("I. Kết quả giải quyết hồ sơ", [table])


# ------------------------------------------------------- II. change and reasons
def changes(inputs: Inputs) -> Section:
    data, directory = inputs.data, inputs.directory
    now, before, known = data.total, data.total_before, data.has_previous
    blocks: list[Any] = [Paragraphs("1. Biến động so với tháng trước", _change_lines(data, directory))]
    blocks.append(Table(
        "2. Nguyên nhân hồ sơ giải quyết quá hạn",
        [Column("Nguyên nhân"), Column("Tháng này", "int"), Column("Tháng trước", "int"), Column("Thay đổi", "delta")],
        [[CAUSE_LABELS[c], now[c], before[c] if known else None, now[c] - before[c] if known else None]
         for c in CAUSES]
        + [["Cộng", now["finished_overdue"], before["finished_overdue"] if known else None,
            now["finished_overdue"] - before["finished_overdue"] if known else None]],
        note=None if known else f"Tháng trước: {NO_PREVIOUS}."))
    if now["finished_overdue"] or (known and before["finished_overdue"]):
        earlier = [Series(f"Tháng {month_label(data.previous)}", [float(before[c]) for c in CAUSES])] if known else []
        series = [*earlier, Series(f"Tháng {month_label(data.month)}", [float(now[c]) for c in CAUSES], emphasis=True)]
        blocks.append(Chart("nguyen-nhan-qua-han", f"Nguyên nhân hồ sơ giải quyết quá hạn tháng {month_label(data.month)}",
                            "bars", [CAUSE_LABELS[c] for c in CAUSES], series,
                            caption="Số hồ sơ giải quyết quá hạn trong tháng theo nguyên nhân."))
    named = data.named
    blocks.append(Table(
        "3. Vi phạm quy định khác trong tháng",
        [Column("Nội dung"), Column("Tháng này", "int"), Column("Tháng trước", "int"), Column("Thay đổi", "delta")],
        [[SHORTCOMING_LABELS[k], len(named.alerts[k]), named.alerts_before[k] if known else None,
          len(named.alerts[k]) - named.alerts_before[k] if known else None] for k in SHORTCOMING_LABELS],
        note=None if known else f"Tháng trước: {NO_PREVIOUS}."))
    return Section("II. Biến động so với tháng trước và nguyên nhân", blocks)


def _change_lines(data: MonthData, directory: Directory) -> list[str]:
    now, before, known = data.total, data.total_before, data.has_previous

    def versus(a: float, b: float, unit: str, decimals: int = 0, scale: float = 1, shown: str = "") -> str:
        if not known:
            return f" ({NO_PREVIOUS})"
        return f", tháng trước {shown or count(int(b))} ({change_words(a, b, unit, decimals, scale)})"

    lines = [
        f"Hồ sơ giải quyết quá hạn: {count(now['finished_overdue'])}"
        f"{versus(now['finished_overdue'], before['finished_overdue'], ' hồ sơ')}.",
        f"Tỷ lệ giải quyết quá hạn: {pct(now.overdue_rate)}"
        + (f", tháng trước {pct(before.overdue_rate)} "
           f"({change_words(now.overdue_rate, before.overdue_rate, ' điểm phần trăm', 1, 100)})" if known
           else f" ({NO_PREVIOUS})") + ".",
        f"Hồ sơ đang giải quyết quá hạn cuối tháng: {count(now['open_overdue_at_month_end'])}"
        f"{versus(now['open_overdue_at_month_end'], before['open_overdue_at_month_end'], ' hồ sơ')}.",
    ]
    if now["finished_overdue"]:
        top = max(now[c] for c in CAUSES)
        main = "; ".join(CAUSE_LABELS[c].lower() for c in CAUSES if now[c] == top)
        lines.append(f"Nguyên nhân chủ yếu: {main} ({count(top)}/{count(now['finished_overdue'])} hồ sơ quá hạn"
                     f"{' mỗi nguyên nhân' if main.count(';') else ''}).")
    if known:
        moves = sorted(((now[c] - before[c], c) for c in CAUSES), key=lambda m: (-abs(m[0]), CAUSES.index(m[1])))
        for diff, cause in moves:
            if diff:
                lines.append(f"{'Tăng' if diff > 0 else 'Giảm'} nhiều nhất so với tháng trước: "
                             f"{CAUSE_LABELS[cause].lower()} ({'+' if diff > 0 else '-'}{count(abs(diff))} hồ sơ).")
                break
        lines += _movers(data, directory)
    worst = next(iter(_by_overdue(data)), None)
    if worst is not None and worst.finished_overdue + worst.open_overdue:
        lines.append(f"Thủ tục nhiều hồ sơ quá hạn nhất: {directory.procedure_name(worst.procedure_code)} "
                     f"({count(worst.finished_overdue)} hồ sơ giải quyết quá hạn, "
                     f"{count(worst.open_overdue)} hồ sơ đang quá hạn cuối tháng).")
    return lines


def _movers(data: MonthData, directory: Directory) -> list[str]:
    """The units that drive the change of the overdue sum (finished overdue + open overdue at the end)."""
    total = data.total.overdue_total - data.total_before.overdue_total
    if not total or data.unit:
        return []
    sign = 1 if total > 0 else -1
    diffs = sorted(((u.now.overdue_total - u.before.overdue_total, directory.unit_name(u.unit)) for u in data.units),
                   key=lambda d: (-sign * d[0], d[1]))
    named = [f"{name} ({'+' if d > 0 else '-'}{count(abs(d))})" for d, name in diffs[:TOP_MOVERS] if sign * d > 0]
    word = "tăng" if sign > 0 else "giảm"
    return [f"Tổng hồ sơ quá hạn (giải quyết quá hạn và đang quá hạn cuối tháng) {word} "
            f"{count(abs(total))} hồ sơ, {word} nhiều nhất ở: {'; '.join(named)}."] if named else []


# ---------------------------------------------------------------- III. units
def units(inputs: Inputs) -> Section:
    data, directory = inputs.data, inputs.directory
    ordered = sorted(data.units, key=lambda u: (-u.now.overdue_total, -(u.now.overdue_rate or 0),
                                                directory.unit_name(u.unit)))
    # Short names ("Chi nhánh huyện Tân Biên"): ten figures share the line with the name.
    rows = [[directory.short_name(u.unit), u.now["received"], u.now["finished"], u.now["finished_overdue"],
             u.now["open_overdue_at_month_end"], u.now.overdue_total, u.now.overdue_rate,
             _sub(u.now.overdue_rate, u.before.overdue_rate) if data.has_previous else None,
             u.now.timeliness_score, u.now.digitised_rate]
            for u in ordered]
    blocks: list[Any] = [Table(
        "1. Đơn vị tiếp nhận, xếp theo cộng quá hạn (giải quyết quá hạn và đang quá hạn cuối tháng), nhiều nhất trước",
        [Column("Đơn vị"), Column("Tiếp nhận", "int"), Column("Đã giải quyết", "int"),
         Column("Giải quyết quá hạn", "int"), Column("Đang quá hạn cuối tháng", "int"),
         Column("Cộng quá hạn", "int"), Column("Tỷ lệ quá hạn", "rate"),
         Column("So với tháng trước", "pp"), Column("Điểm tiến độ", "score"), Column("Tỷ lệ số hóa", "rate")],
        rows)]
    chart = _history_chart(data, directory)
    if chart is not None:
        blocks.append(chart)
    blocks.append(Table(
        f"{len(blocks) + 1}. Đơn vị giữ hồ sơ quá hạn lâu nhất so với phần thời gian của mình "
        "(hồ sơ kết thúc trong tháng)",
        [Column("Đơn vị"), Column("Số hồ sơ quá hạn", "int"), Column("Giờ làm việc đã giữ", "decimal")],
        [[directory.unit_name(u), n, hours] for u, n, hours in data.held]))
    return Section("III. Đơn vị", blocks)


def _history_chart(data: MonthData, directory: Directory) -> Chart | None:
    """The overdue rate of each unit (and the province) month by month, from the first month with results."""
    if not data.history:
        return None
    months = sorted({m for m, *_ in data.history})
    finished: dict[tuple[Any, str], tuple[int, int]] = {(m, u): (f, o) for m, u, f, o in data.history}
    # Months before the first one with results are the store's warm-up: left out, not drawn as gaps.
    first = next((i for i, m in enumerate(months) if any(f for (mm, _), (f, _o) in finished.items() if mm == m)), None)
    if first is None:
        return None
    months = months[first:]
    if len(months) < 2:  # one point is no trend
        return None

    def rate(pairs: list[tuple[int, int]]) -> list[float | None]:
        return [o / f if f else None for f, o in pairs]

    unit_codes = sorted({u for _, u, *_ in data.history}, key=directory.short_name)
    series = [Series(directory.short_name(u), rate([finished.get((m, u), (0, 0)) for m in months]))
              for u in unit_codes]
    if not data.unit:
        totals = [tuple(map(sum, zip(*[finished.get((m, u), (0, 0)) for u in unit_codes]))) for m in months]
        series.append(Series("Toàn tỉnh", rate(totals), emphasis=True))  # type: ignore[arg-type]
    return Chart("ty-le-qua-han-theo-don-vi", f"Tỷ lệ giải quyết quá hạn theo đơn vị, {len(months)} tháng gần nhất",
                 "lines", [month_label(m) for m in months], series, value_kind="rate",
                 caption="Tỷ lệ hồ sơ giải quyết quá hạn trên hồ sơ đã giải quyết trong tháng.")


# ----------------------------------------------------------- IV. procedures
def _by_overdue(data: MonthData) -> list[Any]:
    return sorted(data.procedures, key=lambda p: (-(p.finished_overdue + p.open_overdue), -(p.overdue_rate or 0),
                                                  p.procedure_code))


def procedures(inputs: Inputs) -> Section:
    data, directory = inputs.data, inputs.directory
    ordered = _by_overdue(data)
    rows = [[directory.procedure_name(p.procedure_code), p.finished, p.finished_overdue, p.overdue_rate,
             p.open_overdue, p.finished_overdue + p.open_overdue] for p in ordered[:TOP_PROCEDURES]]
    return Section("IV. Thủ tục", [Table(
        f"Tối đa {TOP_PROCEDURES} thủ tục, xếp theo cộng quá hạn, nhiều nhất trước",
        [Column("Thủ tục"), Column("Đã giải quyết", "int"), Column("Giải quyết quá hạn", "int"),
         Column("Tỷ lệ quá hạn", "rate"), Column("Đang quá hạn cuối tháng", "int"), Column("Cộng quá hạn", "int")],
        rows)])


# ------------------------------------------------------------- V. remedies
def remedy_section(inputs: Inputs) -> Section:
    blocks = remedies(inputs.data, inputs.directory, inputs.remedies)
    for n, block in enumerate(blocks, 1):
        block.title = f"{n}. {block.title}"
    if not blocks:
        blocks = [Paragraphs("", [inputs.remedies.none])]
    return Section("V. Giải pháp khắc phục", list(blocks))


# ---------------------------------------------------------------- appendix
def still_overdue(inputs: Inputs) -> Section:
    data, directory, calendar = inputs.data, inputs.directory, inputs.calendar
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
    return Section(f"Phụ lục. Danh sách hồ sơ còn quá hạn cuối tháng {month_label(data.month)}", [Table(
        "",
        [Column("STT", "int"), Column("Mã hồ sơ"), Column("Thủ tục"), Column("Đơn vị tiếp nhận"),
         Column("Đơn vị đang giữ"), Column("Ngày tiếp nhận", "datetime"), Column("Hạn giải quyết", "datetime"),
         Column("Số ngày làm việc quá hạn", "decimal"), Column("Nguyên nhân (hiện tại)"),
         Column("Tình trạng hiện nay")], rows, empty="Không có hồ sơ quá hạn.")], appendix=True)


# The report's sections, in order: the one place where they are assembled.
def due_date_audit(inputs: Inputs) -> Section:
    """VI. The provincial system's promised dates against the legal due times (issue 21)."""
    return audit_section(inputs.data.audit, inputs.directory)


SECTIONS: tuple[Callable[[Inputs], Section | None], ...] = (
    results, changes, units, procedures, remedy_section, due_date_audit, still_overdue,
)
