"""`dossier-stream report` on the crafted province: figures, formats, filters, errors.

Province totals for November 2023 (crafted.py): received 4, finished 6 (early 1,
on time 3, overdue 2 → 33,3%), open at the end 2 of which 1 overdue, score
20 × (4 + 2 - 1) / (6 + 2) = 12,50, digitised 5/6, online payments 0/1;
October: received 8, finished 4, overdue 2 → 50,0%, digitised 2/3, payments 1/1.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stream_app.jobs.report import run_report
from stream_app.settings import Settings
from tests.analytics.crafted import D3, D6

pytestmark = pytest.mark.integration


def report(settings: Settings, tmp_path: Path, fmt: str, month: str = "2023-11", unit: str | None = None) -> Path:
    out = tmp_path / f"report.{fmt}"
    assert run_report(settings, month=month, unit=unit, fmt=fmt, out=out) == 0
    return out


def test_markdown_report_shows_totals_change_and_reasons(crafted_settings: Settings, tmp_path: Path) -> None:
    md = report(crafted_settings, tmp_path, "md").read_text(encoding="utf-8")
    assert md.startswith("# BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ ĐẤT ĐAI THÁNG 11/2023")
    assert "| Hồ sơ đã giải quyết | 6 | 4 | +2 |" in md
    assert "| Tỷ lệ giải quyết quá hạn | 33,3% | 50,0% | -16,7 điểm % |" in md
    assert "| Điểm tiến độ giải quyết (tối đa 20) | 12,50 | 12,50 | 0,00 |" in md
    assert "| Tỷ lệ số hóa kết quả giải quyết | 83,3% | 66,7% | +16,7 điểm % |" in md
    assert "Tỷ lệ giải quyết quá hạn: 33,3%, tháng trước 50,0% (giảm 16,7 điểm phần trăm)." in md
    assert "| Đơn vị xử lý giữ hồ sơ quá phần thời gian | 1 | 0 | +1 |" in md
    # units and procedures by name; the only dossier still overdue at the end of November
    assert "Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành" in md
    assert "| Cấp đổi Giấy chứng nhận | 4 | 2 | 50,0% | 0 |" in md
    assert f"| 1 | {D6} |" in md and "| 10/11/2023 09:00 | 14,8 |" in md


def test_csv_report_has_machine_readable_sections(crafted_settings: Settings, tmp_path: Path) -> None:
    raw = report(crafted_settings, tmp_path, "csv").read_text(encoding="utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    by_label = {r[0]: r[1:] for r in rows if r}
    assert by_label["Hồ sơ tiếp nhận"] == ["4", "8", "-4"]
    assert by_label["Tỷ lệ giải quyết quá hạn"] == ["0.333333", "0.5", "-0.166667"]
    assert by_label["Tỷ lệ thanh toán trực tuyến"] == ["0.0", "1.0", "-1.0"]
    listed = [r for r in rows if len(r) > 1 and r[1] == D6]
    assert listed and listed[0][5:8] == ["2023-10-26T09:00:00+07:00", "2023-11-10T09:00:00+07:00", "14.75"]


def test_xlsx_report_has_typed_cells(crafted_settings: Settings, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ws = load_workbook(report(crafted_settings, tmp_path, "xlsx", month="2023-10")).active
    cells = {r[0]: r[1:] for r in ws.iter_rows(values_only=True) if r and r[0] is not None}
    assert ws.title == "2023-10"
    assert cells["Hồ sơ đã giải quyết"][:3] == (4, "—", "—")  # September has no data: no change from 0
    assert cells["Tỷ lệ giải quyết quá hạn"][0] == pytest.approx(0.5)
    overdue = [r for r in ws.iter_rows(values_only=True) if r[1] == D3]
    assert overdue and overdue[0][6].isoformat() == "2023-10-30T08:00:00"  # local wall time


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_xlsx_report_opens_in_libreoffice(crafted_settings: Settings, tmp_path: Path) -> None:
    xlsx = report(crafted_settings, tmp_path, "xlsx")
    profile = tmp_path / "lo-profile"
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path), str(xlsx)],
        capture_output=True, text=True, timeout=120,
    )
    converted = tmp_path / "report.csv"
    assert done.returncode == 0 and converted.exists(), done.stderr
    text = converted.read_text(encoding="utf-8")
    assert "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ ĐẤT ĐAI THÁNG 11/2023" in text
    assert D6 in text


def test_unit_filter_by_code_or_name(crafted_settings: Settings, tmp_path: Path) -> None:
    by_code = report(crafted_settings, tmp_path, "md", unit="002.22.31.H53").read_text(encoding="utf-8")
    assert "Phạm vi: đơn vị Chi nhánh Văn phòng Đăng ký đất đai thị xã Hòa Thành." in by_code
    assert "| Hồ sơ đã giải quyết | 3 | 2 | +1 |" in by_code
    assert "Không có hồ sơ quá hạn." in by_code
    by_name = report(crafted_settings, tmp_path, "md",
                     unit="chi nhánh văn phòng đăng ký đất đai thị xã hòa thành").read_text(encoding="utf-8")
    assert by_name == by_code


def test_terminal_table(crafted_settings: Settings, tmp_path: Path) -> None:
    text = report(crafted_settings, tmp_path, "table").read_text(encoding="utf-8")
    assert "I. Kết quả giải quyết hồ sơ" in text and "33,3%" in text and D6 in text


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """The console script as a user runs it (its own process: it configures logging)."""
    env = {"PATH": os.environ.get("PATH", ""), "DOSSIER_CLICKHOUSE": settings.clickhouse.get_secret_value(),
           "DOSSIER_LOG_FORMAT": "json"}
    return subprocess.run([sys.executable, "-m", "stream_app.cli", "report", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=Path(__file__).resolve().parents[2])


def test_cli_prints_the_report_and_exits_2_on_bad_input(crafted_settings: Settings) -> None:
    done = cli(crafted_settings, "--month", "2023-11", "--format", "md")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ ĐẤT ĐAI THÁNG 11/2023")
    bad = cli(crafted_settings, "--month", "2023-13")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"month": "2023-11", "fmt": "xlsx"}, "needs --out"),
    ({"month": "2023-11", "unit": "999.99.99.X99"}, "unknown unit"),
    ({"month": "11/2023"}, "YYYY-MM"),
])
def test_bad_requests_are_refused_with_a_reason(crafted_settings: Settings, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_report(crafted_settings, **kwargs)


def test_a_month_without_data_is_an_empty_report(crafted_settings: Settings, tmp_path: Path) -> None:
    md = report(crafted_settings, tmp_path, "md", month="2024-03").read_text(encoding="utf-8")
    assert "Không có số liệu cho tháng 03/2024." in md


def test_cli_writes_the_letter_and_its_charts(crafted_settings: Settings, tmp_path: Path) -> None:
    done = cli(crafted_settings, "--month", "2023-11", "--format", "docx", "--out", str(tmp_path / "bc.docx"),
               "--charts", str(tmp_path / "charts"))
    assert done.returncode == 0, done.stderr
    assert f"wrote {tmp_path / 'bc.docx'}" in done.stderr and len(list((tmp_path / "charts").glob("*.png"))) == 2


def test_cli_help_names_the_report_config_variable() -> None:
    from stream_app.cli import build_parser

    report_parser = build_parser()._subparsers._group_actions[0].choices["report"]  # noqa: SLF001
    text = report_parser.format_help()
    assert "DOSSIER_REPORT_CONFIG" in " ".join(text.split()) and "docx" in text and "--charts DIR" in text


def test_cli_refuses_a_bad_report_config_with_exit_2(crafted_settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "report.toml"
    config.write_text('[letter]\nsigner = "A"\n', encoding="utf-8")
    done = cli(crafted_settings, "--month", "2023-11", "--format", "docx", "--out", str(tmp_path / "bc.docx"),
               "--report-config", str(config))
    assert done.returncode == 2 and "letter.signer" in done.stderr and "Traceback" not in done.stderr
