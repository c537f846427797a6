"""Vietnamese alert messages: one sentence per kind naming the dossier, procedure, unit and time."""

import unicodedata
from datetime import datetime, timezone

import pytest

from stream_app.domain.alerts import KINDS, AlertSpec
from stream_app.domain.history import DossierHistory
from stream_app.domain.messages import KIND_LABELS, render, vn_time
from tests.domain.builders import (
    BRANCH,
    CATALOG,
    DESK,
    DOSSIER,
    RULES,
    TRANSFER,
    ev,
    received,
    t,
)

UNITS = {DESK: "Bộ phận Một cửa huyện Tân Biên", BRANCH: "Chi nhánh VPĐKĐĐ huyện Tân Biên"}
PROCEDURE = "Đăng ký biến động: chuyển nhượng, thừa kế, tặng cho, góp vốn quyền sử dụng đất"


def unit_name(code: str | None) -> str:
    return UNITS.get(code or "", code or "không rõ đơn vị")


def procedure_name(code: str | None) -> str:
    return CATALOG.name(code or "") or "thủ tục không rõ"


def alert(kind: str, events) -> AlertSpec:
    [found] = [a for a in DossierHistory.from_events(DOSSIER, events, RULES).alerts().values() if a.kind == kind]
    return found


REC = received("2024-03-04 09:00", TRANSFER)  # due Thu 14/3/2024 09:00
AT_BRANCH = ev("transferred", "2024-03-05 09:00", to_unit=BRANCH)

CASES = {
    "sla_warning": (
        [REC, AT_BRANCH],
        f"Cảnh báo: hồ sơ {DOSSIER} ({PROCEDURE}) đang ở Chi nhánh VPĐKĐĐ huyện Tân Biên chỉ còn không quá "
        "1 ngày làm việc đến hạn trả kết quả lúc 09:00 14/03/2024.",
    ),
    "sla_breach": (
        [REC, AT_BRANCH],
        f"Quá hạn: hồ sơ {DOSSIER} ({PROCEDURE}) đã quá hạn trả kết quả (hạn 09:00 14/03/2024, "
        "quá hạn từ 00:00 15/03/2024) và vẫn đang ở Chi nhánh VPĐKĐĐ huyện Tân Biên.",
    ),
    # Sent Wed 6/3 09:00 + 5 working days -> Wed 13/3 09:00.
    "tax_overdue": (
        [REC, AT_BRANCH, ev("sent_to_tax", "2024-03-06 09:00")],
        f"Liên thông thuế: hồ sơ {DOSSIER} ({PROCEDURE}) đang ở Chi nhánh VPĐKĐĐ huyện Tân Biên chưa có "
        "thông báo nộp tiền của cơ quan thuế dù đã quá thời hạn (09:00 13/03/2024).",
    ),
    # Result Tue 12/3 10:00 + 1 working day -> Wed 13/3 10:00.
    "open_after_completion": (
        [REC, AT_BRANCH, ev("result_attached", "2024-03-12 10:00")],
        f"Chưa kết thúc hồ sơ: hồ sơ {DOSSIER} ({PROCEDURE}) đã có kết quả nhưng Chi nhánh VPĐKĐĐ huyện "
        "Tân Biên chưa kết thúc hồ sơ trên hệ thống sau 1 ngày làm việc (10:00 13/03/2024).",
    ),
    # Concluded Tue 12/3 10:00 + 1 working day -> Wed 13/3 10:00.
    "missing_result": (
        [REC, AT_BRANCH, ev("concluded", "2024-03-12 10:00", outcome="approved")],
        f"Thiếu kết quả điện tử: hồ sơ {DOSSIER} ({PROCEDURE}) đã được Chi nhánh VPĐKĐĐ huyện Tân Biên kết "
        "thúc nhưng chưa đính kèm kết quả điện tử sau 1 ngày làm việc (10:00 13/03/2024).",
    ),
    # 7 working hours before the due time Thu 14/3 09:00.
    "late_extension": (
        [REC, AT_BRANCH, ev("extended", "2024-03-13 10:00", new_due_at="2024-03-20 17:00")],
        "Xin lỗi muộn: văn bản xin lỗi, hẹn lại ngày trả kết quả của hồ sơ "
        f"{DOSSIER} ({PROCEDURE}) do Chi nhánh VPĐKĐĐ huyện Tân Biên gửi lúc 10:00 13/03/2024, không sớm "
        "hơn hạn 09:00 14/03/2024 ít nhất 1 ngày làm việc hoặc là lần gia hạn thứ hai.",
    ),
}


def test_every_kind_has_a_case_and_a_label():
    assert sorted(CASES) == sorted(KINDS) == sorted(KIND_LABELS)


@pytest.mark.parametrize("kind", KINDS)
def test_message(kind):
    events, expected = CASES[kind]
    assert render(alert(kind, events), unit_name=unit_name, procedure_name=procedure_name) == expected


@pytest.mark.parametrize("kind", KINDS)
def test_message_is_precomposed_unicode(kind):
    """Diacritics as single code points (NFC), as Vietnamese systems and search expect."""
    text = render(alert(kind, CASES[kind][0]), unit_name=unit_name, procedure_name=procedure_name)
    assert unicodedata.is_normalized("NFC", text) and unicodedata.is_normalized("NFC", KIND_LABELS[kind])


def test_labels():
    assert KIND_LABELS == {
        "sla_warning": "Sắp đến hạn",
        "sla_breach": "Quá hạn xử lý",
        "tax_overdue": "Thuế chậm thông báo",
        "open_after_completion": "Chưa kết thúc trên hệ thống",
        "missing_result": "Thiếu kết quả điện tử",
        "late_extension": "Xin lỗi, gia hạn muộn",
    }


def test_unknown_kind_is_refused():
    spec = alert("sla_breach", [REC])
    bogus = AlertSpec(spec.alert_id, "bogus", spec.dossier_id, spec.fires_at, spec.due_at, spec.unit, spec.procedure_code, spec.receiving_unit)
    with pytest.raises(ValueError, match="bogus"):
        render(bogus, unit_name=unit_name, procedure_name=procedure_name)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param(t("2024-03-14 09:00"), "09:00 14/03/2024", id="local"),
        pytest.param(datetime(2024, 3, 14, 17, 30, tzinfo=timezone.utc), "00:30 15/03/2024", id="UTC shown in Hà Nội time"),
        pytest.param(t("2024-03-14 23:59:59.999"), "23:59 14/03/2024", id="end of day"),
        pytest.param(None, "—", id="no time"),
    ],
)
def test_vn_time(moment, text):
    assert vn_time(moment) == text
