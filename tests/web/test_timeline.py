"""A dossier's timeline from its store rows (pure: no broker, no store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stream_app.domain.calendar import WorkingCalendar
from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.web import timeline

A = "001.22.31.H53"
D = f"{A}-231120-0001"
CAL = WorkingCalendar.load()
DIRECTORY = Directory.load(Catalog.load(None))


def t(text: str) -> datetime:
    return datetime.fromisoformat(f"2023-11-{text[:2]}T{text[3:]}:00+07:00")


def ev(n: int, kind: str, when: str, **own: Any) -> dict[str, Any]:
    row = dict.fromkeys(("procedure_code", "channel", "to_unit", "tax_office", "new_due_at", "outcome",
                         "document_ref", "signed"))
    return {**row, "event_id": f"{D}:{n}", "event_type": kind, "occurred_at": t(when), "agency_code": A, **own}


def rows(status: str, unit_hours: dict[str, float], events: list[dict[str, Any]]) -> dict[str, Any]:
    state = {"dossier_id": D, "procedure_code": "1.012711", "receiving_unit": A, "current_unit": A,
             "status": status, "classification": "open", "received_at": t("20 09:00"), "unit_hours": unit_hours}
    return {"state": state, "events": events, "alerts": []}


TAX_ROUND = [
    ev(1, "received", "20 09:00", procedure_code="1.012711", channel="direct"),
    ev(2, "sent_to_tax", "21 09:00", tax_office="001.53.10.G12"),
    ev(3, "tax_notice_issued", "23 09:00"),
    ev(4, "obligation_paid", "27 13:00", channel="online"),
]


def test_the_running_holder_gets_the_time_since_the_clock_resumed():
    """Credited 8 h before tax; paid Mon 27/11 13:00, so the clock runs from 13:30: 3.5 h + 2 h on Tue."""
    d = timeline.build(D, rows("open", {A: 8.0}, TAX_ROUND), t("28 09:00"), CAL, DIRECTORY)
    assert d["unit_hours"] == [{"unit": A, "name": DIRECTORY.unit_name(A), "hours": 13.5, "days": 1.69, "holding": True}]


def test_a_paused_dossier_gets_no_running_time():
    d = timeline.build(D, rows("paused", {A: 8.0}, TAX_ROUND[:2]), t("28 09:00"), CAL, DIRECTORY)
    assert [(u["hours"], u["holding"]) for u in d["unit_hours"]] == [(8.0, False)]


def test_pauses_are_read_off_the_events_with_their_working_hours():
    d = timeline.build(D, rows("open", {A: 8.0}, TAX_ROUND), t("28 09:00"), CAL, DIRECTORY)
    # Tue 21/11 09:00 to Mon 27/11 13:00: 6 h + 3 days of 8 h + 4.5 h on Monday morning.
    assert d["pauses"] == [{"reason": "tax", "label": "Chờ thực hiện nghĩa vụ tài chính (thuế)",
                            "from": "2023-11-21T09:00:00+07:00", "to": "2023-11-27T13:00:00+07:00",
                            "ongoing": False, "working_hours": 34.5}]


def test_events_are_told_in_vietnamese():
    d = timeline.build(D, rows("open", {A: 8.0}, TAX_ROUND), t("28 09:00"), CAL, DIRECTORY)
    assert [(e["label"], e["detail"]) for e in d["events"]] == [
        ("Tiếp nhận hồ sơ", "Đăng ký biến động: chuyển nhượng, thừa kế, tặng cho, góp vốn quyền sử dụng đất, nộp trực tiếp"),
        ("Chuyển cơ quan thuế", "gửi Chi cục Thuế khu vực Tây Ninh – Châu Thành"),
        ("Cơ quan thuế ra thông báo", ""),
        ("Nộp nghĩa vụ tài chính", "nộp trực tuyến"),
    ]
