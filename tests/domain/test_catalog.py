"""The procedure catalog (docs/contract.md §4 DOSSIER_CATALOG; limits from docs/domain.md)."""

from datetime import date

import pytest

from stream_app.domain.catalog import Catalog, CatalogError, Procedure

HEADER = "procedure_code,name,limit_working_days,tax_interlinked,tax_limit_working_days,effective_from\n"
TRANSFER = "1.012711"


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return Catalog.load()


def write(tmp_path, body: str, header: str = HEADER, name: str = "catalog.csv"):
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


# -- the shipped catalog --------------------------------------------------------------

@pytest.mark.parametrize(
    ("code", "limit", "tax_interlinked"),
    [
        pytest.param(TRANSFER, 8.0, True, id="transfer, inheritance, gift, capital contribution"),
        pytest.param("1.012712", 20.0, True, id="first registration and first certificate (17 + 3)"),
        pytest.param("1.012713", 5.0, False, id="certificate exchange"),
        pytest.param("1.012714", 10.0, False, id="certificate exchange with area change"),
        pytest.param("1.012715", 12.0, False, id="parcel split or merge"),
        pytest.param("1.012716", 10.0, False, id="re-issue after loss"),
        pytest.param("1.012717", 8.0, False, id="correction"),
        pytest.param("1.012718", 25.0, False, id="revocation"),
    ],
)
def test_shipped_catalog_has_the_domain_limits(shipped, code, limit, tax_interlinked):
    procedure = shipped.lookup(code, date(2025, 1, 1))
    assert (procedure.limit_working_days, procedure.tax_interlinked) == (limit, tax_interlinked)


def test_shipped_catalog_lists_eight_procedures(shipped):
    assert shipped.codes() == [f"1.0127{n}" for n in range(11, 19)]


def test_transfer_tax_limit_is_5_days_before_1_july_2026(shipped):
    assert shipped.lookup(TRANSFER, date(2026, 6, 30)).tax_limit_working_days == 5.0


def test_transfer_tax_limit_is_3_days_from_1_july_2026(shipped):
    assert shipped.lookup(TRANSFER, date(2026, 7, 1)).tax_limit_working_days == 3.0


def test_procedure_without_tax_has_no_tax_limit(shipped):
    assert shipped.lookup("1.012713", date(2025, 1, 1)).tax_limit_working_days is None


def test_name(shipped):
    assert shipped.name("1.012715") == "Tách thửa, hợp thửa đất"


# -- lookups --------------------------------------------------------------------------

def test_unknown_code_is_none(shipped):
    assert (shipped.lookup("9.999999", date(2025, 1, 1)), shipped.name("9.999999"), "9.999999" in shipped) == (
        None,
        None,
        False,
    )


def test_known_code_is_in_the_catalog(shipped):
    assert TRANSFER in shipped


def test_before_the_first_version_the_earliest_applies():
    catalog = Catalog.from_rows(
        [
            Procedure("X.1", "Thủ tục X", 10.0, False, None, date(2025, 1, 1)),
            Procedure("X.1", "Thủ tục X", 7.0, False, None, date(2026, 1, 1)),
        ]
    )
    assert [catalog.lookup("X.1", d).limit_working_days for d in (date(2024, 6, 1), date(2025, 6, 1), date(2026, 6, 1))] == [
        10.0,
        10.0,
        7.0,
    ]


# -- custom files ---------------------------------------------------------------------

def test_custom_path_with_decimal_limits(tmp_path):
    path = write(tmp_path, "L.1,Thủ tục nhanh,0.5,TRUE,1.5,\n")
    assert Catalog.load(path).lookup("L.1", date(2025, 1, 1)) == Procedure("L.1", "Thủ tục nhanh", 0.5, True, 1.5, None)


def test_empty_limit_means_no_known_time_limit(tmp_path):
    path = write(tmp_path, "L.2,Thủ tục không thời hạn,,false,,\n")
    assert Catalog.load(path).lookup("L.2", date(2025, 1, 1)).limit_working_days is None


def test_effective_from_column_is_optional(tmp_path):
    path = write(tmp_path, "L.3,Thủ tục,8,false,\n", header=HEADER.replace(",effective_from", ""))
    assert Catalog.load(path).lookup("L.3", date(2025, 1, 1)).effective_from is None


@pytest.mark.parametrize("tax_limit", ["", "0", "0.0"])
def test_a_procedure_without_tax_may_write_its_tax_limit_as_empty_or_zero(tmp_path, tax_limit):
    path = write(tmp_path, f"L.5,Thủ tục không liên thông thuế,8,false,{tax_limit},\n")
    assert Catalog.load(path).lookup("L.5", date(2025, 1, 1)).tax_limit_working_days is None


@pytest.mark.parametrize("tax_limit", ["", "0"])
def test_a_tax_interlinked_procedure_needs_a_positive_tax_limit(tmp_path, tax_limit):
    path = write(tmp_path, f"L.6,Thủ tục liên thông thuế,8,true,{tax_limit},\n")
    with pytest.raises(CatalogError, match=f"^{path}:2: .*tax-interlinked.*positive"):
        Catalog.load(path)


def test_a_semicolon_separated_file_says_so(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(HEADER.replace(",", ";") + "L.7;Thủ tục;8;false;;\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=f"^{path}:1: the fields are separated by ';'.*commas"):
        Catalog.load(path)


def test_a_utf16_file_says_so(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes((HEADER + "L.8,Thủ tục,8,false,,\n").encode("utf-16"))
    with pytest.raises(CatalogError, match="UTF-16.*CSV UTF-8"):
        Catalog.load(path)


def test_spreadsheet_export_with_bom_and_crlf_loads(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + HEADER + "L.4,Thủ tục,8,true,5,\n").replace("\n", "\r\n").encode("utf-8"))
    assert Catalog.load(path).codes() == ["L.4"]


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        pytest.param("L.1,A,8,false,,\nL.2,B,8,yes,,\n", 3, "tax_interlinked", id="bad boolean"),
        pytest.param("L.1,A,-1,false,,\n", 2, "limit_working_days", id="negative limit"),
        pytest.param("L.1,A,tám,false,,\n", 2, "limit_working_days", id="limit not a number"),
        pytest.param("L.1,A,8,true,nan,\n", 2, "tax_limit_working_days", id="nan tax limit"),
        pytest.param("L.1,A,8,false,,01/07/2026\n", 2, "effective_from", id="bad date"),
        pytest.param(",A,8,false,,\n", 2, "procedure_code", id="empty code"),
        pytest.param("L.1,A,8,false\n", 2, "fields", id="missing fields"),
        pytest.param("L.1,A,8,false,,,extra\n", 2, "fields", id="extra field"),
        pytest.param("L.1,A,8,false,,\n\nL.1,A,9,false,,\n", 4, "two rows in force from the beginning", id="duplicate"),
    ],
)
def test_bad_row_names_file_and_line(tmp_path, body, line, message):
    path = write(tmp_path, body)
    with pytest.raises(CatalogError, match=message) as raised:
        Catalog.load(path)
    assert str(raised.value).startswith(f"{path}:{line}: ")


def test_missing_column_names_the_header_line(tmp_path):
    path = write(tmp_path, "L.1,A,8,false\n", header="procedure_code,name,limit_working_days,tax_interlinked\n")
    with pytest.raises(CatalogError, match=f"^{path}:1: missing column.*tax_limit_working_days"):
        Catalog.load(path)


def test_empty_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="empty catalog"):
        Catalog.load(write(tmp_path, "", header=""))


def test_missing_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="cannot read"):
        Catalog.load(tmp_path / "absent.csv")
