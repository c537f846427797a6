"""The conversion, record by record: each lifecycle step emitted once, from the best evidence (issue 21)."""

from __future__ import annotations

from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.sync.convert import Context
from stream_app.sync.mapping import Mapping
from tests.sync.builders import CITY, CITY_NAME, D, OFFICE, OFFICE_NAME, Feed, entry, t


def received() -> Feed:
    feed = Feed()
    feed.record()
    return feed


def test_a_record_at_status_2_is_received_at_its_intake_with_the_promised_date():
    [event] = Feed().events()
    assert event == {"event_id": f"{D}:sync:received", "event_type": "received", "dossier_id": D,
                     "occurred_at": t("2024-03-04 09:00"), "agency_code": CITY, "procedure_code": "1.012711",
                     "channel": "direct", "source_due_at": t("2024-03-14 09:00")}


def test_status_1_then_2_is_received_once_at_2():
    feed = Feed()
    assert feed.record(TrangThaiHoSo="1", KenhThucHien="2") == []
    assert feed.record(TrangThaiHoSo="2", KenhThucHien="2") == [("received", t("2024-03-04 09:00"))]


def test_a_whole_record_sent_again_changes_nothing():
    feed = received()
    before = feed.state
    assert feed.record() == [] and feed.state == before
    assert feed.record(TrangThaiHoSo=4) == []  # in process: a new status, no new step


def test_refused_at_intake_is_never_received():
    feed = Feed()
    assert feed.record(TrangThaiHoSo="3") == [] and feed.state.phase == "refused"


def test_a_progress_entry_naming_another_unit_is_a_transfer_at_its_time():
    feed = received()
    assert feed.progress(entry("20240305100000", OFFICE_NAME)) == [("transferred", t("2024-03-05 10:00"))]
    assert feed.state.current_unit == OFFICE
    assert feed.record(DonViXuLy=OFFICE_NAME, TrangThaiHoSo="4") == []  # the record that follows says the same


def test_a_department_or_an_old_intake_row_is_never_a_transfer():
    feed = received()
    feed.progress(entry("20240305100000", OFFICE_NAME))
    assert feed.progress(entry("20240305110000", "Bộ phận Tiếp nhận và Trả kết quả")) == []
    assert feed.progress(entry("20240304090000", CITY_NAME, "2")) == []  # older than what is known


def test_a_holding_unit_changed_in_the_record_alone_moves_at_the_latest_moment_proven():
    feed = received()
    feed.progress(entry("20240306080000", CITY_NAME))
    assert feed.record(DonViXuLy=OFFICE_NAME, TrangThaiHoSo="4") == [("transferred", t("2024-03-06 08:00"))]


def test_a_unit_the_directory_lacks_is_reported_once_and_the_dossier_stays():
    feed = received()
    feed.record(DonViXuLy="Phòng Tài nguyên huyện Không Có")
    feed.record(DonViXuLy="Phòng Tài nguyên huyện Không Có")
    assert [p.code for p in feed.problems] == ["unmapped_record"]
    assert feed.problems[0].detail.startswith("DonViXuLy 'Phòng Tài nguyên huyện Không Có' is not in the unit directory")
    assert feed.state.current_unit == CITY


def test_the_supplement_list_dates_the_request_and_the_answer():
    feed = received()
    asked = [{"NgayBoSung": "20240305080000"}]
    assert feed.record(TrangThaiHoSo="5", DanhSachHoSoBoSung=asked) == [("supplement_requested", t("2024-03-05 08:00"))]
    back = [{"NgayBoSung": "20240305080000", "NgayTiepNhanBoSung": "20240311143000", "NgayHenTraMoi": "20240322090000"}]
    assert feed.record(TrangThaiHoSo="4", DanhSachHoSoBoSung=back, NgayHenTra="20240322090000") == [
        ("supplement_received", t("2024-03-11 14:30"))]
    assert feed.state.promised_at.isoformat() == "2024-03-22T09:00:00+07:00"


def test_status_5_and_back_to_4_without_a_list_pause_at_the_moments_proven():
    feed = received()
    feed.progress(entry("20240305080000", CITY_NAME))
    assert feed.record(TrangThaiHoSo="5") == [("supplement_requested", t("2024-03-05 08:00"))]
    feed.progress(entry("20240311090000", CITY_NAME))
    assert feed.record(TrangThaiHoSo="4") == [("supplement_received", t("2024-03-11 09:00"))]


def test_one_builds_5_sent_as_9_without_an_end_is_read_from_the_list_not_as_a_conclusion():
    feed = received()
    assert feed.record(TrangThaiHoSo=9, DanhSachHoSoBoSung=[{"NgayBoSung": "20240305080000"}]) == [
        ("supplement_requested", t("2024-03-05 08:00"))]
    assert feed.state.ended is None


def test_tax_from_the_progress_entry_the_notice_by_its_day_and_the_receipt():
    feed = received()
    assert feed.progress(entry("20240306100000", CITY_NAME, "6")) == [("sent_to_tax", t("2024-03-06 10:00"))]
    notice = _notice("07-03-2024")
    assert feed.record(TrangThaiHoSo="6", ThongBaoThue=notice) == [("tax_notice_issued", t("2024-03-07 00:00"))]
    paid = {"ThoiGianThanhToan": "20240308093000", "MaThongBaoThue": "TB1", "DuocThanhToanTrucTuyen": 1}
    events = feed.events(TrangThaiHoSo="4", ThongBaoThue=notice, ThongTinThanhToan=paid)
    assert [(e["event_type"], e["occurred_at"], e.get("channel")) for e in events] == [
        ("obligation_paid", t("2024-03-08 09:30"), "online")]


def test_a_notice_dated_the_day_of_the_slip_is_placed_just_after_the_slip():
    feed = received()
    feed.progress(entry("20240306100000", CITY_NAME, "6"))
    assert feed.record(TrangThaiHoSo="6", ThongBaoThue=_notice("06-03-2024")) == [
        ("tax_notice_issued", "2024-03-06T10:00:01.000+07:00")]


def test_a_notice_that_is_not_base64_xml_is_a_schema_error_and_the_rest_converts():
    feed = received()
    feed.record(TrangThaiHoSo="6", ThongBaoThue="<<not base64>>")
    assert [p.code for p in feed.problems] == ["schema_error"] and feed.state.phase == "tax"


def test_processed_with_its_end_time_concludes_and_the_return_follows_at_ngaytra():
    feed = received()
    assert feed.record(TrangThaiHoSo="9", NgayKetThucXuLy="20240312160000") == [("concluded", t("2024-03-12 16:00"))]
    assert feed.record(TrangThaiHoSo="10", NgayKetThucXuLy="20240312160000", NgayTra="20240313080000") == [
        ("result_returned", t("2024-03-13 08:00"))]


def test_4_straight_to_10_concludes_at_the_end_time_else_at_the_return():
    feed = received()
    assert feed.record(TrangThaiHoSo="10", NgayTra="20240313080000") == [
        ("concluded", t("2024-03-13 08:00")), ("result_returned", t("2024-03-13 08:00"))]


def test_a_result_handed_over_while_still_open_is_returned_not_concluded():
    feed = received()
    assert feed.record(TrangThaiHoSo="4", NgayTra="20240313080000") == [("result_returned", t("2024-03-13 08:00"))]
    assert feed.state.ended is None


def test_the_outcome_field_named_by_the_mapping_makes_a_rejection():
    [event] = received().events(TrangThaiHoSo="9", NgayKetThucXuLy="20240312160000", KetQuaXuLy="Từ chối")
    assert event["outcome"] == "rejected"


def test_status_8_is_a_refusal_by_default_and_a_pause_when_the_mapping_says_so():
    assert received().events(TrangThaiHoSo="8")[0]["outcome"] == "rejected"
    paused = Mapping.from_toml({"status": {"4": "in_process", "2": "received", "8": "stopped"},
                                "choices": {"stopped": "paused"}}, "test")
    feed = Feed(Context(paused, Directory.load(Catalog.load())))
    feed.record()
    assert [kind for kind, _ in feed.record(TrangThaiHoSo="8")] == ["supplement_requested"]
    assert [kind for kind, _ in feed.record(TrangThaiHoSo="4")] == ["supplement_received"]


def test_withdrawn_at_its_end_time():
    assert received().record(TrangThaiHoSo="7", NgayKetThucXuLy="20240306080000") == [
        ("withdrawn", t("2024-03-06 08:00"))]


def test_each_new_result_document_is_attached_once():
    feed = received()
    docs = [{"GiayToId": "GCN-1", "DuongDanTepTinKetQua": "KQ/1.pdf"}]
    events = feed.events(TrangThaiHoSo="4", DanhSachGiayToKetQua=docs)
    assert [(e["event_type"], e["document_ref"]) for e in events] == [("result_attached", "KQ/1.pdf")]
    assert feed.record(TrangThaiHoSo="4", DanhSachGiayToKetQua=docs) == []


def test_a_status_the_mapping_lacks_is_reported_and_the_record_still_read():
    feed = received()
    assert feed.record(TrangThaiHoSo="11", DonViXuLy=OFFICE_NAME) == [("transferred", t("2024-03-04 09:00"))]
    assert [p.code for p in feed.problems] == ["unmapped_record"]


def test_intake_without_its_time_is_reported_and_nothing_received():
    feed = Feed()
    assert feed.record(NgayTiepNhan="") == [] and [p.code for p in feed.problems] == ["unmapped_record"]


def test_the_same_record_converted_twice_from_the_same_snapshot_gives_the_same_ids():
    first, second = received(), received()
    kwargs = {"TrangThaiHoSo": "9", "NgayKetThucXuLy": "20240312160000"}
    assert first.events(**kwargs) == second.events(**kwargs)


def _notice(day: str) -> str:
    from stream_app.replay.dvcqg import notice_document

    return notice_document(D, "123/TB-CCT", __import__("datetime").datetime.strptime(day, "%d-%m-%Y").date())
