"""The edge: envelopes opened, personal fields dropped, times read, the mapping an administrator writes (issue 21)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import orjson
import pytest

from stream_app.domain.calendar import TZ
from stream_app.sync.gate import open_envelope
from stream_app.sync.mapping import Mapping
from stream_app.sync.tax import read_notices
from stream_app.sync.times import parse_day, parse_time

MAPPING = Mapping.load()
PERSONAL = {"ChuHoSo": "Đặng Minh Hải", "DinhDanhCHS": "079203004567", "SoDienThoaiChuHoSo": "0909123456",
            "EmailChuHoSo": "hai@example.vn", "DiaChiChuHoSo": "Số 5 đường Hùng Vương", "MaDoiTuong": "CD-77"}


def envelope(*data: object, service: str = "DongBoHoSoMC") -> bytes:
    return orjson.dumps({"session": "tok-123", "madonvi": "001.22.31.H53", "service": service,
                         "isUpdating": "False", "data": list(data)})


@pytest.mark.parametrize("text", ["20240304090500", "2024-03-04 09:05:00", "2024-03-04T09:05:00",
                                  "04/03/2024 09:05:00", "2024-03-04T02:05:00Z"])
def test_every_time_format_of_the_senders_is_the_same_local_instant(text):
    assert parse_time(text) == datetime(2024, 3, 4, 9, 5, tzinfo=TZ)


def test_the_land_database_that_writes_utc_is_read_as_utc():
    assert parse_time("20240304020500", utc=True) == datetime(2024, 3, 4, 2, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["", "  ", "null", "00000000000000", None])
def test_empty_and_placeholder_times_are_no_time(text):
    assert parse_time(text) is None


@pytest.mark.parametrize("text", ["04-03-2024 9h", "19990101000000", "20241304090000"])
def test_a_time_that_is_none_of_the_formats_raises_without_echoing_it(text):
    with pytest.raises(ValueError) as info:
        parse_time(text)
    assert text not in str(info.value)


def test_a_tax_notice_day_is_dd_mm_yyyy():
    assert parse_day("07-03-2024") == date(2024, 3, 7)


def test_a_tax_notice_is_read_from_its_base64_xml():
    from stream_app.replay.dvcqg import notice_document

    [notice] = read_notices(notice_document("D-1", "12/TB", date(2024, 3, 7)))
    assert (notice.dossier_id, notice.number, notice.day) == ("D-1", "12/TB", date(2024, 3, 7))


def test_an_xml_bomb_in_a_tax_notice_is_refused():
    import base64

    bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><DATA>&b;</DATA>'
    with pytest.raises(ValueError, match="forbidden"):
        read_notices(base64.b64encode(bomb).decode())


def test_a_record_keeps_no_personal_field_and_no_session():
    opened = open_envelope(envelope({"MaHoSo": "D-1", "TrangThaiHoSo": 2, **PERSONAL}), "f:1", MAPPING)
    [(record, known)] = opened.records
    dumped = record.model_dump_json() + orjson.dumps(known).decode()
    assert [v for v in (*PERSONAL.values(), "tok-123") if v in dumped] == []


def test_a_line_that_is_not_json_is_a_dead_letter_that_keeps_none_of_its_bytes():
    [dead] = open_envelope(envelope({"MaHoSo": "D-1", **PERSONAL})[:-20], "f:7", MAPPING).dead
    assert (dead.source, dead.error_code, dead.raw) == ("f:7", "invalid_json", b'{"madonvi":null,"service":null,"data":[]}')
    assert "are not kept" in dead.error_detail


def test_a_bad_record_is_a_dead_letter_with_its_known_fields_only_and_the_others_go_on():
    opened = open_envelope(envelope({"MaHoSo": "D-1", "NgayTiepNhan": "yesterday", **PERSONAL},
                                    {"MaHoSo": "D-2", "TrangThaiHoSo": "2"}), "f:3", MAPPING)
    [dead] = opened.dead
    assert dead.error_code == "schema_error" and dead.error_detail.startswith("data[0]: NgayTiepNhan: expected a time")
    assert orjson.loads(dead.raw) == {"madonvi": "001.22.31.H53", "service": "DongBoHoSoMC",
                                      "data": [{"MaHoSo": "D-1", "NgayTiepNhan": "yesterday"}]}
    assert [r.MaHoSo for r, _ in opened.records] == ["D-2"]


def test_an_unknown_service_is_not_an_envelope():
    [dead] = open_envelope(envelope({"MaHoSo": "D-1"}, service="LayDanhSachHoSo"), "f:1", MAPPING).dead
    assert dead.error_code == "schema_error" and dead.error_detail.startswith("not a sync envelope: service")


def test_progress_entries_keep_where_and_when_not_who():
    opened = open_envelope(envelope({"MaHoSo": "D-1", "ThoiDiemXuLy": "20240304090000", "PhongBanXuLy": "Bộ phận",
                                     "NguoiXuLy": "Lê Văn C", "ChucDanh": "Chuyên viên", "NoiDungXuLy": "Gọi ông C",
                                     "TrangThai": 2}, service="CapNhatTienDoHoSoMC"), "f:1", MAPPING)
    [entry] = opened.progress
    assert entry.model_dump() == {"MaHoSo": "D-1", "ThoiDiemXuLy": datetime(2024, 3, 4, 9, tzinfo=TZ),
                                  "PhongBanXuLy": "Bộ phận", "TrangThai": "2"}


def test_an_administrators_mapping_changes_only_what_it_names(tmp_path: Path):
    path = tmp_path / "mapping.toml"
    path.write_text('[status]\n"11" = "in_process"\n[choices]\nstopped = "ignored"\n[times]\nutc_units = ["L1"]\n')
    mapping = Mapping.load(path)
    assert (mapping.meaning("11"), mapping.meaning("9"), mapping.stopped, mapping.processed_without_end) == (
        "in_process", "processed", "ignored", "evidence")
    assert mapping.sends_utc("L1") and not mapping.sends_utc("001.22.31.H53")


def test_a_mapping_with_an_unknown_meaning_is_refused_with_the_line_to_fix(tmp_path: Path):
    path = tmp_path / "mapping.toml"
    path.write_text('[status]\n"4" = "busy"\n')
    with pytest.raises(ValueError, match="status 4 = 'busy'; meanings: submitted"):
        Mapping.load(path)


def test_a_sender_the_mapping_names_as_utc_has_its_times_read_as_utc():
    mapping = Mapping.from_toml({"times": {"utc_units": ["001.22.31.H53"]}}, "test")
    [(record, _)] = open_envelope(envelope({"MaHoSo": "D-1", "NgayTiepNhan": "20240304020000"}), "f:1", mapping).records
    assert record.NgayTiepNhan == datetime(2024, 3, 4, 9, tzinfo=TZ)
