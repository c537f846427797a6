"""Names for codes: a unit is named by its code, its full name or the page's short name."""

from __future__ import annotations

import pytest

from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory

DIRECTORY = Directory.load(Catalog.load())
TAN_BIEN = "004.22.31.H53"


def test_a_branch_has_the_short_name_the_page_shows():
    assert DIRECTORY.unit_name(TAN_BIEN) == "Chi nhánh Văn phòng Đăng ký đất đai huyện Tân Biên"
    assert DIRECTORY.short_name(TAN_BIEN) == "Chi nhánh huyện Tân Biên"
    assert DIRECTORY.short_name("000.22.31.H53") == "Văn phòng Đăng ký đất đai tỉnh Tây Ninh"


@pytest.mark.parametrize("text", [
    TAN_BIEN, "Chi nhánh huyện Tân Biên", "chi nhánh  HUYỆN tân biên",
    "Chi nhánh Văn phòng Đăng ký đất đai huyện Tân Biên",
])
def test_a_unit_is_found_by_its_code_or_either_name(text):
    assert DIRECTORY.resolve_unit(text) == TAN_BIEN


def test_an_unknown_unit_comes_back_as_given_and_nothing_for_nothing():
    assert (DIRECTORY.resolve_unit("Chi nhánh huyện Không Có"), DIRECTORY.resolve_unit(None)) == (
        "Chi nhánh huyện Không Có", None)


def test_an_unknown_code_is_shown_as_itself():
    assert DIRECTORY.unit_name("999.99") == DIRECTORY.short_name("999.99") == "999.99"


def test_a_province_gives_its_own_units_with_the_names_its_systems_use(tmp_path):
    """DOSSIER_UNITS: the directory is configuration; aliases are how a sync record may name a unit."""
    path = tmp_path / "units.csv"
    path.write_text("unit_code,name,kind,district,aliases\n"
                    "000.20.01.H22,Văn phòng Đăng ký đất đai tỉnh Quảng Ninh,office,,VPĐKĐĐ Quảng Ninh|VP ĐKĐĐ QN\n",
                    encoding="utf-8")
    directory = Directory.load(Catalog.load(), path)
    assert directory.resolve_unit("vp đkđđ  qn") == "000.20.01.H22"
    assert directory.knows("000.20.01.H22") and not directory.knows(TAN_BIEN)


def test_a_unit_directory_that_is_not_there_says_which_setting(tmp_path):
    with pytest.raises(FileNotFoundError, match="DOSSIER_UNITS"):
        Directory.load(Catalog.load(), tmp_path / "missing.csv")
