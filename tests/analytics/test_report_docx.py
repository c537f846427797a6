"""`report --format docx`: the letter the task force sends, opened with python-docx.

The crafted province (crafted.py): in November 2023 D6 was left open after completion
and is the one dossier still overdue at the end; D3 was held past its share by the
provincial office; D12 got a late apology letter. In October D4 waited past the tax
limit at the Hòa Thành tax office and D2 was closed without its electronic result.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.shared import Pt

from stream_app.jobs.report import run_report
from stream_app.settings import Settings
from stream_app.store.client import connect
from tests.analytics.crafted import D2, D3, D4, D6, D12, NOV

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def letters(crafted_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("letters")
    out = {}
    for month in ("2023-10", "2023-11"):
        out[month] = root / f"{month}.docx"
        assert run_report(crafted_settings, month=month, fmt="docx", out=out[month], charts=root / "charts") == 0
    out["charts"] = root / "charts"
    return out


def words(doc: Any) -> str:
    """Every paragraph of the document in reading order, a table's rows as "cell | cell"."""
    lines = []
    for item in doc.iter_inner_content():
        if hasattr(item, "rows"):
            lines += [" | ".join(c.text for c in row.cells) for row in item.rows]
        else:
            lines.append(item.text)
    return "\n".join(lines)


def body(doc: Any) -> list[str]:
    return [p.text for p in doc.paragraphs if p.text]


def test_the_header_block_names_the_bodies_and_the_nation(letters: dict[str, Path]) -> None:
    header = Document(letters["2023-11"]).tables[0]
    left, right = (c.text.splitlines() for c in header.rows[0].cells)
    assert left == ["SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG TỈNH TÂY NINH", "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI"]  # then its rule
    assert right == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    number, dated = (c.text for c in header.rows[1].cells)  # on one line, under both blocks
    assert number == "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-VPĐKĐĐ"
    assert dated.startswith("Tây Ninh, ngày") and dated.endswith("năm 2023")


def test_the_title_and_subject_follow_the_header(letters: dict[str, Path]) -> None:
    lines = body(Document(letters["2023-11"]))
    assert lines[:2] == ["BÁO CÁO", "Tình hình giải quyết hồ sơ thủ tục hành chính lĩnh vực đất đai tháng 11/2023"]
    assert lines[2].startswith("Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh")


def test_numbered_sections_in_order_then_the_appendix(letters: dict[str, Path]) -> None:
    lines = body(Document(letters["2023-11"]))
    heads = ["I. KẾT QUẢ GIẢI QUYẾT HỒ SƠ", "II. BIẾN ĐỘNG SO VỚI THÁNG TRƯỚC VÀ NGUYÊN NHÂN", "III. ĐƠN VỊ",
             "IV. THỦ TỤC", "V. GIẢI PHÁP KHẮC PHỤC", "Nơi nhận:", "Phụ lục",
             "DANH SÁCH HỒ SƠ CÒN QUÁ HẠN CUỐI THÁNG 11/2023"]
    text = words(Document(letters["2023-11"])).splitlines()
    positions = [text.index(h) for h in heads]
    assert positions == sorted(positions)
    assert "1. Biến động so với tháng trước" in lines and "2. Nguyên nhân hồ sơ giải quyết quá hạn" in lines


def _month_totals(settings: Settings) -> dict[str, int]:
    client = connect(settings.clickhouse.get_secret_value())
    try:
        q = client.query("SELECT sum(received), sum(finished), sum(finished_overdue), sum(open_overdue_at_month_end),"
                         " sum(overdue_supplement), sum(overdue_unit_held) FROM dossier.monthly_report"
                         " WHERE month = {m:Date}", parameters={"m": NOV})
    finally:
        client.close()
    return dict(zip(("received", "finished", "finished_overdue", "open_overdue", "supplement", "unit"),
                    map(int, q.result_rows[0])))


def test_the_figures_are_those_of_monthly_report(crafted_settings: Settings, letters: dict[str, Path]) -> None:
    doc = Document(letters["2023-11"])
    totals = _month_totals(crafted_settings)
    results = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in doc.tables[1].rows}
    assert results["Hồ sơ tiếp nhận"][0] == str(totals["received"]) == "4"
    assert results["Hồ sơ đã giải quyết"] == [str(totals["finished"]), "4", "+2"]
    assert results["– quá hạn"][0] == str(totals["finished_overdue"])
    assert results["– trong đó quá hạn"][0] == str(totals["open_overdue"])
    assert results["Tỷ lệ giải quyết quá hạn"] == ["33,3%", "50,0%", "-16,7 điểm %"]
    assert results["Điểm tiến độ giải quyết (tối đa 20)"] == ["12,50", "12,50", "0,00"]
    causes = {r.cells[0].text: r.cells[1].text for r in doc.tables[2].rows}
    assert causes["Hồ sơ phải bổ sung, hoàn thiện"] == str(totals["supplement"])
    assert causes["Đơn vị xử lý giữ hồ sơ quá phần thời gian"] == str(totals["unit"])
    assert causes["Cộng"] == str(totals["finished_overdue"])


def test_the_appendix_lists_the_dossiers_still_overdue_on_a_landscape_page(letters: dict[str, Path]) -> None:
    doc = Document(letters["2023-11"])
    listed = doc.tables[-1]
    assert [c.text for c in listed.rows[0].cells][:2] == ["STT", "Mã hồ sơ"]
    assert [c.text for c in listed.rows[1].cells][:2] == ["1", D6] and len(listed.rows) == 2
    assert doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE


def test_the_signature_block_is_left_for_the_signer(letters: dict[str, Path]) -> None:
    doc = Document(letters["2023-11"])
    left, right = (c.text.splitlines() for c in doc.tables[-2].rows[0].cells)
    assert left[0] == "Nơi nhận:" and left[-1] == "- Lưu: VT."
    assert right[:2] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"] and not any(right[2:])


def test_the_text_keeps_its_vietnamese_diacritics(letters: dict[str, Path]) -> None:
    text = words(Document(letters["2023-11"]))
    assert unicodedata.normalize("NFC", text) == text
    for phrase in ("Độc lập - Tự do - Hạnh phúc", "Đơn vị xử lý giữ hồ sơ quá phần thời gian",
                   "Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành", "Trên đây là báo cáo"):
        assert phrase in text


def test_a4_times_new_roman_and_the_decree_margins(letters: dict[str, Path]) -> None:
    doc = Document(letters["2023-11"])
    first = doc.sections[0]
    mm = [round(x.mm) for x in (first.page_width, first.page_height, first.top_margin, first.bottom_margin,
                                first.left_margin, first.right_margin)]
    assert mm == [210, 297, 20, 20, 30, 15]
    assert doc.styles["Normal"].font.name == "Times New Roman"
    title = next(p for p in doc.paragraphs if p.text == "BÁO CÁO")
    assert title.runs[0].font.size == Pt(14) and title.runs[0].font.bold
    issuing = doc.tables[0].rows[0].cells[0].paragraphs[1].runs[0]
    assert issuing.font.size == Pt(12) and issuing.font.bold
    assert first.different_first_page_header_footer  # no page number on page 1


def test_two_charts_are_embedded_and_written_as_png(letters: dict[str, Path]) -> None:
    doc = Document(letters["2023-11"])
    images = [r.target_part.blob for r in doc.part.rels.values() if "image" in r.reltype]
    assert len(doc.inline_shapes) == 2 and all(b.startswith(b"\x89PNG") for b in images)
    written = sorted(p.name for p in letters["charts"].glob("2023-11-*.png"))
    assert written == ["2023-11-nguyen-nhan-qua-han.png", "2023-11-ty-le-qua-han-theo-don-vi.png"]
    assert {p.read_bytes() for p in letters["charts"].glob("2023-11-*.png")} == set(images)


def test_remedies_name_who_acts_and_list_the_dossiers(letters: dict[str, Path]) -> None:
    text = words(Document(letters["2023-11"]))
    assert ("- Chi nhánh Văn phòng Đăng ký đất đai thành phố Tây Ninh kết thúc ngay trên hệ thống 1 hồ sơ đã có "
            f"kết quả: {D6}.") in text
    assert ("- Văn phòng Đăng ký đất đai tỉnh Tây Ninh rà soát 1 hồ sơ đã giữ quá phần thời gian "
            f"(58,0 giờ làm việc): {D3}.") in text
    assert f"- Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành rút kinh nghiệm đối với 1 hồ sơ: {D12}." in text


def test_remedies_name_the_tax_office_and_the_dossiers_without_their_result(letters: dict[str, Path]) -> None:
    text = words(Document(letters["2023-10"]))
    assert ("- Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành phối hợp với Chi cục Thuế khu vực Hòa Thành – "
            f"Dương Minh Châu đôn đốc ban hành thông báo nghĩa vụ tài chính đối với 1 hồ sơ: {D4}.") in text
    assert ("- Chi nhánh Văn phòng Đăng ký đất đai thành phố Tây Ninh số hóa và đính kèm kết quả điện tử 1 hồ sơ: "
            f"{D2}.") in text
    assert "(chưa có số liệu tháng trước)" in text


def test_the_letter_comes_from_the_configuration_file(crafted_settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "report.toml"
    config.write_text('[letter]\nissuing_body = "CHI NHÁNH VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI THỊ XÃ HÒA THÀNH"\n'
                      'signer_titles = ["GIÁM ĐỐC"]\nsigner_name = "Nguyễn Văn A"\nnumber = "7"\n'
                      '[remedies.late_extension]\nline = "{unit}: {count} phiếu muộn ({dossiers})."\n',
                      encoding="utf-8")
    out = tmp_path / "letter.docx"
    settings = crafted_settings.model_copy(update={"report_config": config})
    assert run_report(settings, month="2023-11", fmt="docx", out=out) == 0
    doc = Document(out)
    left = doc.tables[0].rows[0].cells[0].text.splitlines()
    assert left[1] == "CHI NHÁNH VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI THỊ XÃ HÒA THÀNH"
    assert doc.tables[0].rows[1].cells[0].text == "Số: 07/BC-VPĐKĐĐ"
    signer = doc.tables[-2].rows[0].cells[1].text.splitlines()
    assert signer[0] == "GIÁM ĐỐC" and signer[-1] == "Nguyễn Văn A"
    assert "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG TỈNH TÂY NINH" in left[0]  # the rest stays as shipped
    assert f"- Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành: 1 phiếu muộn ({D12})." in words(doc)


def test_a_unit_letter_names_the_unit_in_its_subject(crafted_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "unit.docx"
    assert run_report(crafted_settings, month="2023-11", unit="Chi nhánh thị xã Hòa Thành", fmt="docx", out=out) == 0
    assert ("Tình hình giải quyết hồ sơ thủ tục hành chính lĩnh vực đất đai tháng 11/2023 của Chi nhánh Văn phòng "
            "Đăng ký đất đai thị xã Hòa Thành") in body(Document(out))


def test_docx_needs_an_out_file(crafted_settings: Settings) -> None:
    with pytest.raises(ValueError, match="--format docx needs --out"):
        run_report(crafted_settings, month="2023-11", fmt="docx")


def test_an_unwritable_out_file_fails_with_exit_1(crafted_settings: Settings, tmp_path: Path) -> None:
    assert run_report(crafted_settings, month="2023-11", fmt="docx", out=tmp_path / "missing" / "r.docx") == 1


def test_charts_can_go_with_any_format(crafted_settings: Settings, tmp_path: Path) -> None:
    assert run_report(crafted_settings, month="2023-11", fmt="md", out=tmp_path / "r.md", charts=tmp_path / "c") == 0
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["2023-11-nguyen-nhan-qua-han.png",
                                                                 "2023-11-ty-le-qua-han-theo-don-vi.png"]
