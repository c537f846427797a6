"""The report's shared Vietnamese phrases: months, percentages, changes, cause names.

Every sentence of the report (sections, remedies, chart titles) says a month,
a rate or a change from the previous month the same way, through these
helpers, and names a cause with `CAUSE_LABELS`. A change from a month without
data is never a change from zero: it is `NO_PREVIOUS`.
"""

from __future__ import annotations

from typing import Any

from stream_app.report.blocks import vn_number

NO_PREVIOUS = "chưa có số liệu tháng trước"

CAUSE_LABELS = {
    "overdue_tax": "Cơ quan thuế chậm thông báo nghĩa vụ tài chính",
    "overdue_open_after_completion": "Đã có kết quả nhưng chậm kết thúc hồ sơ trên hệ thống",
    "overdue_supplement": "Hồ sơ phải bổ sung, hoàn thiện",
    "overdue_unit_held": "Đơn vị xử lý giữ hồ sơ quá phần thời gian",
}
CAUSE_OF_STATE = {"tax": "overdue_tax", "open_after_completion": "overdue_open_after_completion",
                  "supplement": "overdue_supplement", "unit": "overdue_unit_held"}
# What the alerts table adds to the causes: rules broken in the month, counted by alert.
SHORTCOMING_LABELS = {
    "late_extension": "Phiếu xin lỗi, hẹn lại ngày trả kết quả gửi muộn hoặc lần thứ hai",
    "missing_result": "Hồ sơ kết thúc chưa đính kèm kết quả điện tử",
}


def month_label(d: Any) -> str:
    return f"{d.month:02d}/{d.year}"


def pct(x: float | None) -> str:
    return "—" if x is None else f"{vn_number(100 * x, 1)}%"


def count(n: int) -> str:
    return vn_number(n, 0)


def change_words(now: float | None, before: float | None, unit: str, decimals: int = 0, scale: float = 1, *,
                 has_previous: bool = True) -> str:
    """"tăng 3 hồ sơ", "giảm 1,5 điểm phần trăm", "không đổi"; NO_PREVIOUS without a previous month."""
    if not has_previous:
        return NO_PREVIOUS
    if now is None or before is None:
        return "chưa so sánh được"
    diff = (now - before) * scale
    if round(diff, decimals) == 0:
        return "không đổi"
    return f"{'tăng' if diff > 0 else 'giảm'} {vn_number(abs(diff), decimals)}{unit}"
