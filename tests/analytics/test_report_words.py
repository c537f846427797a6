"""The report's words (#19 item 6): the sum it sorts by is shown, numbers are Vietnamese,
and a month with no data before it is compared with nothing, in every format.

The crafted province (crafted.py) starts in October 2023: September has no data. In
November, A has 1 finished overdue + 1 open overdue = 2, B 1 + 0 = 1.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from stream_app.jobs.report import run_report
from stream_app.report.blocks import vn_number
from stream_app.settings import Settings

pytestmark = pytest.mark.integration

NO_PREVIOUS = "chưa có số liệu tháng trước"


def report(settings: Settings, tmp_path: Path, fmt: str, month: str) -> Path:
    out = tmp_path / f"report-{month}.{fmt}"
    assert run_report(settings, month=month, fmt=fmt, out=out) == 0
    return out


@pytest.mark.parametrize(("x", "decimals", "text"), [
    (1309, 0, "1.309"), (1234567, 0, "1.234.567"), (33.333, 1, "33,3"), (-16.7, 1, "-16,7"), (-0.04, 1, "0,0"),
])
def test_vietnamese_numbers(x: float, decimals: int, text: str) -> None:
    assert vn_number(x, decimals) == text


def test_units_show_the_overdue_sum_they_are_sorted_by(crafted_settings: Settings, tmp_path: Path) -> None:
    md = report(crafted_settings, tmp_path, "md", "2023-11").read_text(encoding="utf-8")
    assert ("| Đơn vị | Tiếp nhận | Đã giải quyết | Giải quyết quá hạn | Đang quá hạn cuối tháng | Cộng quá hạn |"
            in md)
    assert "| Chi nhánh thành phố Tây Ninh | 1 | 3 | 1 | 1 | 2 | 33,3% |" in md
    assert "| Chi nhánh thị xã Hòa Thành | 3 | 3 | 1 | 0 | 1 | 33,3% |" in md
    assert md.index("Chi nhánh thành phố Tây Ninh | 1 |") < md.index("Chi nhánh thị xã Hòa Thành | 3 |")


def test_procedures_show_the_overdue_sum_they_are_sorted_by(crafted_settings: Settings, tmp_path: Path) -> None:
    md = report(crafted_settings, tmp_path, "md", "2023-11").read_text(encoding="utf-8")
    assert "| Cấp đổi Giấy chứng nhận | 4 | 2 | 50,0% | 0 | 2 |" in md


def test_a_first_month_is_compared_with_nothing_in_markdown(crafted_settings: Settings, tmp_path: Path) -> None:
    md = report(crafted_settings, tmp_path, "md", "2023-10").read_text(encoding="utf-8")
    assert "| Hồ sơ đã giải quyết | 4 | — | — |" in md
    assert "_Tháng 09/2023: chưa có số liệu tháng trước, chưa so sánh được._" in md
    assert f"Hồ sơ giải quyết quá hạn: 2 ({NO_PREVIOUS})." in md
    assert f"Tỷ lệ giải quyết quá hạn: 50,0% ({NO_PREVIOUS})." in md
    assert "tăng" not in md.split("## II.")[1].split("## III.")[0]


def test_a_first_month_is_compared_with_nothing_in_csv(crafted_settings: Settings, tmp_path: Path) -> None:
    raw = report(crafted_settings, tmp_path, "csv", "2023-10").read_text(encoding="utf-8")
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(raw.lstrip("\ufeff"))) if r}
    assert rows["Hồ sơ đã giải quyết"] == ["4", "", ""]
    assert rows["Tỷ lệ giải quyết quá hạn"] == ["0.5", "", ""]
    assert f"Hồ sơ giải quyết quá hạn: 2 ({NO_PREVIOUS})." in rows


def test_a_first_month_is_compared_with_nothing_in_the_terminal(crafted_settings: Settings, tmp_path: Path) -> None:
    text = report(crafted_settings, tmp_path, "table", "2023-10").read_text(encoding="utf-8")
    assert f"Hồ sơ giải quyết quá hạn: 2 ({NO_PREVIOUS})." in text


def test_a_first_month_is_compared_with_nothing_in_excel(crafted_settings: Settings, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ws = load_workbook(report(crafted_settings, tmp_path, "xlsx", "2023-10")).active
    values = [r[0] for r in ws.iter_rows(values_only=True) if r and r[0]]
    assert "Tháng 09/2023: chưa có số liệu tháng trước, chưa so sánh được." in values
    assert f"Hồ sơ giải quyết quá hạn: 2 ({NO_PREVIOUS})." in values


def test_sentences_write_thousands_the_vietnamese_way() -> None:
    """Section II's sentences use vn_number: 1.309, never 1309."""
    from stream_app.report.data import Figures, MonthData
    from stream_app.report.sections import _change_lines
    from datetime import date

    now, before = Figures(), Figures()
    now.counts.update(finished=5000, finished_overdue=1309, overdue_unit_held=1309)
    before.counts.update(finished=4000, finished_overdue=1000, overdue_unit_held=1000)
    data = MonthData(date(2024, 3, 1), date(2024, 2, 1), None, None, [], now, before, [], [], [])
    lines = _change_lines(data, _directory())
    assert lines[0] == "Hồ sơ giải quyết quá hạn: 1.309, tháng trước 1.000 (tăng 309 hồ sơ)."
    assert "(1.309/1.309 hồ sơ quá hạn)" in lines[3]


def _directory():  # noqa: ANN202
    from stream_app.domain.catalog import Catalog
    from stream_app.domain.directory import Directory

    return Directory.load(Catalog.load())
