"""Vietnamese alert messages for the land task force.

One sentence per alert kind naming the dossier, the procedure, the unit and
the time that matters, in the words the task force uses. Times are shown in
Asia/Ho_Chi_Minh as `HH:MM dd/mm/yyyy`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from stream_app.domain.alerts import AlertSpec
from stream_app.domain.calendar import TZ

KIND_LABELS = {
    "sla_warning": "Sắp đến hạn",
    "sla_breach": "Quá hạn xử lý",
    "tax_overdue": "Thuế chậm thông báo",
    "open_after_completion": "Chưa kết thúc trên hệ thống",
    "missing_result": "Thiếu kết quả điện tử",
    "late_extension": "Xin lỗi, gia hạn muộn",
}


def vn_time(t: datetime | None) -> str:
    return t.astimezone(TZ).strftime("%H:%M %d/%m/%Y") if t else "—"


def render(alert: AlertSpec, *, unit_name: Callable[[str | None], str], procedure_name: Callable[[str | None], str]) -> str:
    """The message of one alert."""
    d = alert.dossier_id
    proc = procedure_name(alert.procedure_code)
    unit = unit_name(alert.unit)
    due = vn_time(alert.due_at)
    kind = alert.kind
    if kind == "sla_warning":
        return (
            f"Cảnh báo: hồ sơ {d} ({proc}) đang ở {unit} chỉ còn không quá 1 ngày làm việc "
            f"đến hạn trả kết quả lúc {due}."
        )
    if kind == "sla_breach":
        return (f"Quá hạn: hồ sơ {d} ({proc}) đã quá hạn trả kết quả (hạn {due}, quá hạn từ "
                f"{vn_time(alert.fires_at)}) và vẫn đang ở {unit}.")
    if kind == "tax_overdue":
        return (
            f"Liên thông thuế: hồ sơ {d} ({proc}) đang ở {unit} chưa có thông báo nộp tiền của cơ quan thuế "
            f"dù đã quá thời hạn ({due})."
        )
    if kind == "open_after_completion":
        return (
            f"Chưa kết thúc hồ sơ: hồ sơ {d} ({proc}) đã có kết quả nhưng {unit} chưa "
            f"kết thúc hồ sơ trên hệ thống sau 1 ngày làm việc ({vn_time(alert.fires_at)})."
        )
    if kind == "missing_result":
        return (
            f"Thiếu kết quả điện tử: hồ sơ {d} ({proc}) đã được {unit} kết thúc nhưng chưa đính kèm "
            f"kết quả điện tử sau 1 ngày làm việc ({vn_time(alert.fires_at)})."
        )
    if kind == "late_extension":
        return (
            f"Xin lỗi muộn: văn bản xin lỗi, hẹn lại ngày trả kết quả của hồ sơ {d} ({proc}) "
            f"do {unit} gửi lúc {vn_time(alert.fires_at)}, không sớm hơn hạn {due} ít nhất 1 ngày làm việc "
            f"hoặc là lần gia hạn thứ hai."
        )
    raise ValueError(f"unknown alert kind {kind!r}")
