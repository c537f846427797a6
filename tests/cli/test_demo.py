"""`make demo` tells the story and ends with next steps that work as printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = Path(sys.executable).with_name("dossier-stream")


def test_the_demos_next_report_command_reads_the_demos_store(tmp_path: Path):
    done = subprocess.run([str(SCRIPT), "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 0, done.stderr[-2000:]
    steps = done.stdout.split("what next", 1)[1]
    (report,) = [line.strip() for line in steps.splitlines() if " report --month " in line]

    for fmt in ("docx", "xlsx"):
        command = report.replace("--format docx --out bao-cao.docx", f"--format {fmt} --out bao-cao.{fmt}")
        ran = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert ran.returncode == 0, ran.stderr[-2000:]
        assert (tmp_path / f"bao-cao.{fmt}").stat().st_size > 5000

    sheet = load_workbook(tmp_path / "bao-cao.xlsx").active
    received = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "Hồ sơ tiếp nhận")
    assert isinstance(received[1], int) and received[1] > 1000  # the demo's month, not an empty store
