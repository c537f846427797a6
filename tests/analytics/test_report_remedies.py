"""Which remedies a month calls for, and how they read: pure, on hand-made figures.

A cause of overdue dossiers gets its remedy when it grew, when it is at least a quarter of
the month's overdue dossiers (`stand_out_share`), or when dossiers are still to act on.
"""

from __future__ import annotations

from datetime import date

from stream_app.domain.catalog import Catalog
from stream_app.domain.directory import Directory
from stream_app.report.data import Figures, MonthData
from stream_app.report.dossiers import Named, NamedDossiers
from stream_app.report.letter import load_config
from stream_app.report.remedies import listing, remedies

A, B, TAX = "001.22.31.H53", "002.22.31.H53", "002.53.10.G12"
DIRECTORY = Directory.load(Catalog.load())
TEXTS = load_config().remedies


def month(now: dict[str, int], before: dict[str, int], named: NamedDossiers | None = None) -> MonthData:
    n, b = Figures(), Figures()
    n.counts.update(now)
    b.counts.update(before)
    return MonthData(date(2024, 3, 1), date(2024, 2, 1), None, None, [], n, b, [], [], [],
                     named=named or NamedDossiers())


def titles(data: MonthData) -> list[str]:
    return [block.title for block in remedies(data, DIRECTORY, TEXTS)]


def test_a_cause_that_grew_gets_its_remedy() -> None:
    data = month({"finished": 100, "finished_overdue": 20, "overdue_supplement": 3, "overdue_unit_held": 17},
                 {"finished": 100, "finished_overdue": 20, "overdue_supplement": 2, "overdue_unit_held": 18})
    assert titles(data) == ["Hướng dẫn bổ sung hồ sơ một lần", "Rút ngắn thời gian xử lý tại từng đơn vị"]


def test_a_small_cause_that_fell_gets_none() -> None:
    data = month({"finished": 100, "finished_overdue": 20, "overdue_supplement": 3, "overdue_unit_held": 17},
                 {"finished": 100, "finished_overdue": 30, "overdue_supplement": 9, "overdue_unit_held": 21})
    assert titles(data) == ["Rút ngắn thời gian xử lý tại từng đơn vị"]  # 17/20 stands out


def test_dossiers_still_waiting_at_tax_call_for_the_tax_remedy_even_when_the_cause_fell() -> None:
    named = NamedDossiers(tax_delayed=[Named(f"{A}-240301-0001", A, A, TAX, pending=True)])
    data = month({"finished": 10, "finished_overdue": 4, "overdue_tax": 0, "overdue_unit_held": 4},
                 {"finished": 10, "finished_overdue": 4, "overdue_tax": 2, "overdue_unit_held": 2}, named)
    block = remedies(data, DIRECTORY, TEXTS)[0]
    assert block.title == "Phối hợp với cơ quan thuế"
    assert block.lines == [
        "Cuối tháng còn 1 hồ sơ chờ thông báo nghĩa vụ tài chính quá thời hạn.",
        "Đề nghị cơ quan thuế ban hành thông báo nghĩa vụ tài chính trong thời hạn quy định "
        "(Nghị định 126/2020/NĐ-CP, điều 13).",
        "Chi nhánh Văn phòng Đăng ký đất đai thành phố Tây Ninh phối hợp với Chi cục Thuế khu vực Hòa Thành – "
        f"Dương Minh Châu đôn đốc ban hành thông báo nghĩa vụ tài chính đối với 1 hồ sơ: {A}-240301-0001.",
    ]


def test_a_month_without_data_before_it_says_so_instead_of_a_change() -> None:
    named = NamedDossiers(finished_overdue=[Named(f"{B}-240305-0002", B, B, "supplement")])
    data = month({"finished": 4, "finished_overdue": 1, "overdue_supplement": 1}, {}, named)
    block = remedies(data, DIRECTORY, TEXTS)[0]
    assert block.lines[0] == ("Có 1 hồ sơ giải quyết quá hạn sau khi phải bổ sung, hoàn thiện "
                              "(chưa có số liệu tháng trước).")
    assert block.lines[-1] == f"Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành: 1 hồ sơ ({B}-240305-0002)."


def test_each_missing_result_calls_for_digitising_by_the_unit_that_closed_it() -> None:
    named = NamedDossiers(alerts={"missing_result": [Named(f"{A}-240304-0001", A, A),
                                                     Named(f"{A}-240304-0002", A, A),
                                                     Named(f"{B}-240306-0001", B, B)],
                                  "late_extension": []},
                          alerts_before={"missing_result": 5, "late_extension": 0})
    data = month({"finished": 50}, {"finished": 50}, named)
    block = remedies(data, DIRECTORY, TEXTS)[0]
    assert block.lines[0] == ("Có 3 hồ sơ kết thúc trong tháng chưa đính kèm kết quả điện tử "
                              "(giảm 2 hồ sơ so với tháng trước).")
    assert block.lines[2:] == [
        f"Chi nhánh Văn phòng Đăng ký đất đai thành phố Tây Ninh số hóa và đính kèm kết quả điện tử 2 hồ sơ: "
        f"{A}-240304-0001, {A}-240304-0002.",
        f"Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành số hóa và đính kèm kết quả điện tử 1 hồ sơ: "
        f"{B}-240306-0001.",
    ]


def test_a_quiet_month_has_no_remedy() -> None:
    assert titles(month({"finished": 50}, {"finished": 40})) == []


def test_a_long_list_names_the_first_codes_and_counts_the_others() -> None:
    codes = [f"{A}-240301-{n:04d}" for n in range(1, 36)]
    assert listing(codes, 30).endswith(f"{A}-240301-0030 và 5 hồ sơ khác")
    assert listing(codes[:2], 30) == f"{A}-240301-0001, {A}-240301-0002"
