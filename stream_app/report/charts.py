"""The report's pictures: a `blocks.Chart` drawn as PNG bytes with matplotlib.

`draw(chart)` draws the overdue rate per unit over the months (`lines`: one
thin line a unit, the province bold and black, gaps where a unit finished
nothing) or the cause breakdown of the month (`bars`: horizontal, the previous
month in grey beside this one, each bar labelled with its figure). Numbers on
the axes and labels are Vietnamese (`vn_number`: 12,5%). It uses matplotlib's
object API on the Agg canvas, never pyplot, so nothing global is set and no
display is needed; the PNG carries no timestamp, so the same chart gives the
same bytes.
"""

from __future__ import annotations

import io
import textwrap

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from stream_app.report.blocks import Chart, vn_number

WIDTH_IN = 6.3  # the letter's text width (16 cm)
DPI = 200
_UNIT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#393b79", "#637939")


def _value(kind: str, decimals: int = 0):  # noqa: ANN202 - a matplotlib formatter
    if kind == "rate":
        return FuncFormatter(lambda x, _pos: f"{vn_number(100 * x, decimals)}%")
    return FuncFormatter(lambda x, _pos: vn_number(x, decimals))


def draw(chart: Chart) -> bytes:
    fig = Figure(figsize=(WIDTH_IN, 4.6 if chart.kind == "lines" else 3.6), dpi=DPI)
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    if chart.kind == "lines":
        _lines(fig, ax, chart)
    else:
        _bars(ax, chart)
    ax.set_title(chart.title, fontsize=10, fontweight="bold", loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _lines(fig: Figure, ax, chart: Chart) -> None:  # noqa: ANN001 - matplotlib Axes
    x = list(range(len(chart.labels)))
    colours = iter(_UNIT_COLOURS * 2)
    for s in chart.series:
        y = [float("nan") if v is None else v for v in s.values]
        if s.emphasis:
            ax.plot(x, y, color="black", linewidth=2.6, marker="o", markersize=4, label=s.name, zorder=3)
        else:
            ax.plot(x, y, color=next(colours), linewidth=1.2, marker="o", markersize=2.5, label=s.name, alpha=0.9)
    ax.set_xticks(x, chart.labels, fontsize=7, rotation=45 if len(x) > 6 else 0)
    ax.set_xlim(-0.3, len(x) - 0.7)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(_value(chart.value_kind))
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", linewidth=0.4, alpha=0.6)
    fig.legend(loc="outside lower center", ncol=3, fontsize=6.5, frameon=False)


def _bars(ax, chart: Chart) -> None:  # noqa: ANN001 - matplotlib Axes
    n = len(chart.series)
    height = 0.8 / n
    positions = list(range(len(chart.labels)))[::-1]  # the first label on top
    greys = ("#b0b0b0", "#d0d0d0")
    for i, s in enumerate(chart.series):
        offsets = [p + (n - 1 - 2 * i) * height / 2 for p in positions]
        colour = "#1f4e79" if s.emphasis else greys[i % 2]
        values = [v or 0 for v in s.values]
        bars = ax.barh(offsets, values, height=height * 0.92, color=colour, label=s.name)
        ax.bar_label(bars, labels=[vn_number(v, 0) for v in values], padding=2, fontsize=7)
    ax.set_yticks(positions, [textwrap.fill(label, 34) for label in chart.labels], fontsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(_value(chart.value_kind))
    ax.tick_params(axis="x", labelsize=7)
    ax.margins(x=0.12)
    ax.grid(axis="x", linewidth=0.4, alpha=0.6)
    if n > 1:
        ax.figure.legend(loc="outside lower center", ncol=n, fontsize=7, frameon=False)
