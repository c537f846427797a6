"""The letter's configuration file: shipped defaults, an administrator's file over them,
and clear refusals; the date and number lines it gives (Decree 30/2020/NĐ-CP)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stream_app.report.letter import load_config
from stream_app.report.word import date_line, number_line


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "report.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_letter_is_from_the_land_registration_office() -> None:
    letter = load_config().letter
    assert (letter.superior_body, letter.issuing_body) == ("SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG TỈNH TÂY NINH",
                                                           "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI")
    assert (letter.place, letter.symbol, letter.date) == ("Tây Ninh", "BC-VPĐKĐĐ", "blank")
    assert letter.signer_titles == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"] and letter.signer_name == ""
    assert letter.recipients[-1] == "Lưu: VT."


def test_a_file_overrides_only_the_keys_it_gives(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[letter]\nplace = "Trảng Bàng"\n[remedies]\nmax_listed = 5\n'))
    assert config.letter.place == "Trảng Bàng" and config.remedies.max_listed == 5
    assert config.letter.issuing_body == "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI"
    assert config.remedies.tax.title == "Phối hợp với cơ quan thuế"


def test_an_unknown_key_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"letter\.signer: Extra inputs are not permitted"):
        load_config(write(tmp_path, '[letter]\nsigner = "Nguyễn Văn A"\n'))


def test_a_placeholder_a_text_may_not_use_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"remedies\.supplement\.line uses \{tax_office\}; it may use "
                                         r"\{count\}, \{dossiers\}, \{month\}, \{unit\}"):
        load_config(write(tmp_path, '[remedies.supplement]\nline = "{tax_office}: {count}"\n'))


def test_an_unmatched_brace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"letter\.closing: .*literal brace"):
        load_config(write(tmp_path, '[letter]\nclosing = "Trân trọng {"\n'))


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config(write(tmp_path, "[letter\n"))


def test_a_missing_file_is_named() -> None:
    with pytest.raises(FileNotFoundError, match="report configuration not found: /nowhere/report.toml"):
        load_config(Path("/nowhere/report.toml"))


def test_the_date_is_left_for_the_signing_day_in_the_month_after_the_report() -> None:
    letter = load_config().letter
    assert date_line(letter, date(2023, 11, 1), None) == \
        "Tây Ninh, ngày\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0tháng\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0năm 2023"
    assert date_line(letter, date(2023, 12, 1), None).endswith("năm 2024")


@pytest.mark.parametrize(("issued", "line"), [
    (date(2024, 1, 5), "Tây Ninh, ngày 05 tháng 01 năm 2024"),
    (date(2024, 3, 15), "Tây Ninh, ngày 15 tháng 3 năm 2024"),
])
def test_a_dated_letter_writes_days_below_10_and_months_1_2_with_a_zero(tmp_path: Path, issued: date,
                                                                       line: str) -> None:
    letter = load_config(write(tmp_path, '[letter]\ndate = "today"\n')).letter
    assert date_line(letter, date(2023, 12, 1), issued) == line


def test_the_number_is_blank_for_the_clerk_or_written_with_a_zero_below_10(tmp_path: Path) -> None:
    assert number_line(load_config().letter) == "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-VPĐKĐĐ"
    assert number_line(load_config(write(tmp_path, '[letter]\nnumber = "7"\n')).letter) == "Số: 07/BC-VPĐKĐĐ"
