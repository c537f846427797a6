"""`generate --format dvcqg`: the synthetic province as its systems sync it, quirks included (issue 21)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
import pytest

from stream_app.replay.generate import generate


@pytest.fixture(scope="module")
def envelopes(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    path = tmp_path_factory.mktemp("dvcqg") / "dvcqg.jsonl"
    generate(path, months=1, seed=2, dossiers_per_month=300, start=date(2023, 10, 1), format="dvcqg")
    out = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pass
    return out


def records(envelopes: list[dict]) -> list[dict]:
    return [r for e in envelopes if e["service"] == "DongBoHoSoMC" for r in e["data"]]


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path in (a, b):
        generate(path, months=1, seed=4, dossiers_per_month=40, start=date(2023, 10, 1), format="dvcqg")
    assert a.read_bytes() == b.read_bytes()


def test_online_dossiers_are_sent_as_status_1_then_2(envelopes):
    first: dict[str, object] = {}
    for r in records(envelopes):
        first.setdefault(r["MaHoSo"], r["TrangThaiHoSo"])
    assert "1" in first.values() and "2" in first.values()


def test_whole_records_are_sent_again_as_updates(envelopes):
    updates = [e for e in envelopes if e["service"] == "DongBoHoSoMC" and e["isUpdating"] == "True"]
    assert len(updates) > len(envelopes) / 4


def test_one_build_sends_supplement_and_tax_as_9_without_an_end(envelopes):
    quirky = [r for r in records(envelopes) if r["TrangThaiHoSo"] == 9 and not r["NgayKetThucXuLy"]]
    assert quirky and {r["MaHoSo"][:13] for r in quirky} == {"003.22.31.H53"}


def test_some_promised_dates_are_empty_or_moved_after_a_pause(envelopes):
    recs = records(envelopes)
    assert any(r["NgayHenTra"] == "" and r["MaTTHC"].startswith("1.") for r in recs)
    moved = [r for r in recs if any(s["NgayHenTraMoi"] for s in r.get("DanhSachHoSoBoSung", []))]
    assert moved and all(s["NgayHenTraMoi"] > s["NgayHenTraTruoc"] for r in moved
                         for s in r["DanhSachHoSoBoSung"] if s["NgayHenTraMoi"] and s["NgayHenTraTruoc"])


def test_some_go_from_4_straight_to_10(envelopes):
    seen: dict[str, list[str]] = {}
    for r in records(envelopes):
        seen.setdefault(r["MaHoSo"], []).append(str(r["TrangThaiHoSo"]))
    assert any("10" in s and "9" not in s for s in seen.values())


def test_placeholders_synthetic_rows_and_two_time_formats_are_there(envelopes):
    recs = records(envelopes)
    rows = [r for e in envelopes if e["service"] == "CapNhatTienDoHoSoMC" for r in e["data"]]
    assert any(r["DinhDanhCHS"] == "000000001" for r in recs)
    assert any(r["NguoiXuLy"] == "Chuyên viên" for r in rows)
    assert any(r["TrangThai"] == "9" for r in rows) and all(
        any(x["PhongBanXuLy"] == "Bộ phận Tiếp nhận và Trả kết quả" for x in e["data"])
        for e in envelopes if e["service"] == "CapNhatTienDoHoSoMC")
    assert any("-" in r["NgayTiepNhan"] for r in recs) and any(r["NgayTiepNhan"].isdigit() for r in recs)


def test_tax_notices_are_base64_xml_and_receipts_say_how_it_was_paid(envelopes):
    recs = [r for r in records(envelopes) if r.get("ThongTinThanhToan")]
    assert recs and all(r["ThongBaoThue"] for r in recs)
    assert {p["DuocThanhToanTrucTuyen"] for r in recs for p in r["ThongTinThanhToan"]} == {0, 1}
