"""The report's pictures: PNG bytes, the same for the same figures, sized for the letter."""

from __future__ import annotations

import io
import struct

from stream_app.report.blocks import Chart, Series
from stream_app.report.charts import DPI, WIDTH_IN, draw

LINES = Chart("ty-le", "Tỷ lệ giải quyết quá hạn theo đơn vị, 3 tháng gần nhất", "lines",
              ["09/2023", "10/2023", "11/2023"],
              [Series("Chi nhánh huyện Tân Biên", [0.2, None, 0.1]), Series("Toàn tỉnh", [0.18, 0.2, 0.19], True)],
              value_kind="rate")
BARS = Chart("nguyen-nhan", "Nguyên nhân hồ sơ giải quyết quá hạn tháng 11/2023", "bars",
             ["Cơ quan thuế chậm thông báo nghĩa vụ tài chính", "Hồ sơ phải bổ sung, hoàn thiện"],
             [Series("Tháng 10/2023", [30, 63]), Series("Tháng 11/2023", [20, 63], True)])


def size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def test_a_chart_is_a_png_as_wide_as_the_letters_text() -> None:
    png = draw(LINES)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert size(png)[0] == round(WIDTH_IN * DPI)


def test_the_same_figures_give_the_same_bytes() -> None:
    assert draw(BARS) == draw(BARS)
    assert draw(LINES) != draw(BARS)


def test_a_png_carries_no_timestamp_or_software_tag() -> None:
    png = io.BytesIO(draw(BARS)).getvalue()
    assert b"tIME" not in png and b"matplotlib" not in png.lower()
