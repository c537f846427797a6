"""Timers fire on each partition's event time (stream time − lateness), or when time is
pushed from outside (advance, finish), never by another partition's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.core.builders import (
    BRANCH,
    BREACH_AT,
    DOSSIER,
    DUE_AT,
    WARNING_AT,
    alerts_of,
    event,
    kinds,
    pick,
    received,
    state_of,
    t,
)
from tests.core.conftest import WALL_START, Clock, Driver

# -- timers on event time ----------------------------------------------------------

def test_an_sla_breach_fires_only_when_the_partitions_watermark_reaches_the_day_after_the_due_day(driver: Driver):
    (neighbour,) = driver.same_partition(DOSSIER)
    driver.push(received("2024-03-04 09:00"))

    before = driver.push(received("2024-03-12 00:09:59.999", dossier=neighbour))  # watermark 23:59:59.999
    at_end = driver.push(event("transferred", "2024-03-12 00:10", neighbour, to_unit=BRANCH))  # 00:00

    assert [pick(a, "kind", "fires_at") for a in alerts_of(before)] == [("sla_warning", t(WARNING_AT))]
    assert [pick(a, "kind", "dossier_id", "fires_at", "due_at") for a in alerts_of(at_end)] == [
        ("sla_breach", DOSSIER, t(BREACH_AT), t(DUE_AT))]
    assert driver.state()[DOSSIER]["classification"] == "open_overdue"


def test_advance_and_finish_fire_the_timers_up_to_their_time(driver: Driver):
    driver.push(received("2024-03-04 09:00"))

    early = driver.advance(t("2024-03-08 08:59:59.999"))
    warning = driver.advance(t(WARNING_AT))
    before_end = driver.advance(t("2024-03-11 23:59:59.998"))
    breach = driver.finish(t(BREACH_AT))

    assert early.alerts == [] and before_end.alerts == []
    assert kinds(warning) == ["sla_warning"]
    assert kinds(breach) == ["sla_breach"]
    assert [state_of(r)["classification"] for r in breach.state_rows] == ["open_overdue"]


def test_a_watermark_never_moves_back(driver: Driver):
    driver.push(received("2024-03-04 09:00"))
    driver.advance(t("2024-03-12 00:00"))

    out = driver.push(event("transferred", "2024-03-05 09:00", to_unit=BRANCH))  # late; mark stays put

    assert driver.processor.low_watermark() == t("2024-03-12 00:00")
    assert out.alerts == []


def test_another_partitions_stream_time_does_not_fire_a_dossiers_timer(driver: Driver):
    elsewhere = driver.other_partition(DOSSIER)
    driver.push(received("2024-03-04 09:00"))

    far = driver.push(received("2024-03-20 09:00", dossier=elsewhere))
    own = driver.push(event("transferred", "2024-03-12 00:10", to_unit=BRANCH))

    assert far.alerts == []
    assert kinds(own) == ["sla_warning", "sla_breach"]


def test_alerts_carry_a_vietnamese_message_for_the_task_force(driver: Driver):
    driver.push(received("2024-03-04 09:00"))

    out = driver.finish(t("2024-03-12 00:00"))

    assert [a["message"] for a in alerts_of(out)] == [
        "Cảnh báo: hồ sơ 000.22.31.H53-240304-0007 (Cấp đổi Giấy chứng nhận) đang ở Văn phòng Đăng ký "
        "đất đai tỉnh Tây Ninh chỉ còn không quá 1 ngày làm việc đến hạn trả kết quả lúc 09:00 11/03/2024.",
        "Quá hạn: hồ sơ 000.22.31.H53-240304-0007 (Cấp đổi Giấy chứng nhận) đã quá hạn trả kết quả "
        "(hạn 09:00 11/03/2024, quá hạn từ 00:00 12/03/2024) và vẫn đang ở Văn phòng Đăng ký đất đai tỉnh Tây Ninh.",
    ]


def test_the_same_input_gives_the_same_alert_ids(make_driver):
    def run(wall: datetime) -> list[tuple[str, str]]:
        d = make_driver(clock=Clock(wall))
        d.push(received("2024-03-04 09:00"), event("transferred", "2024-03-05 09:00", to_unit=BRANCH))
        d.finish(t("2024-03-12 00:00"))
        return [(a["kind"], a["alert_id"]) for a in d.alerts()]

    first, second = run(WALL_START), run(WALL_START + timedelta(days=400))  # ids ignore the wall clock

    assert first == second
    assert [k for k, _ in first] == ["sla_warning", "sla_breach"]
    assert all(len(i) == 24 and int(i, 16) >= 0 for _, i in first)
    assert first[0][1] != first[1][1]
