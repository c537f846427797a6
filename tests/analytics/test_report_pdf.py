"""The letter as a person sees it: LibreOffice headless turns it into a PDF, pdftoppm
renders its first page. Skipped, with the reason, where either program is missing (CI
installs both)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from stream_app.jobs.report import run_report
from stream_app.settings import Settings

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed"),
    pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed"),
]


@pytest.fixture(scope="module")
def pdf(crafted_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pdf")
    docx = root / "bao-cao.docx"
    assert run_report(crafted_settings, month="2023-11", fmt="docx", out=docx) == 0
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{root / 'lo-profile'}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(root), str(docx)],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0 and (root / "bao-cao.pdf").exists(), done.stderr
    return root / "bao-cao.pdf"


def test_libreoffice_reads_the_letter_as_a4_pages(pdf: Path) -> None:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    assert "pts (A4)" in next(line for line in info.splitlines() if line.startswith("Page size:"))
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 3  # the letter, then the appendix on a page of its own


def test_the_first_page_renders_with_its_header_and_title(pdf: Path, tmp_path: Path) -> None:
    done = subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                           str(tmp_path / "page1")], capture_output=True, text=True, timeout=60)
    png = (tmp_path / "page1.png").read_bytes()
    assert done.returncode == 0 and png.startswith(b"\x89PNG")
    assert struct.unpack(">II", png[16:24]) == (662, 936)  # A4 at 80 dpi
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, timeout=60).stdout
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI",
                   "BÁO CÁO", "I. KẾT QUẢ GIẢI QUYẾT HỒ SƠ"):
        assert phrase in text
