"""Dashboard charts as SVG drawn by matplotlib on the server.

Text stays text in the SVG (``svg.fonttype = none``), so the browser draws
the Chinese labels with its own fonts even when the server has no CJK font;
the page shows each chart through <img>, where an SVG cannot run scripts.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Sequence

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

CJK_FONTS = [
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "DejaVu Sans",
]
LEVEL_COLORS = {"red": "#c62828", "orange": "#ef6c00", "yellow": "#f9a825"}
PALETTE = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#546e7a"]
STYLE = {
    "svg.fonttype": "none",
    # Unit names are data: "$" must stay a dollar sign, never start mathtext.
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": CJK_FONTS,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#9e9e9e",
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e0e0e0",
    "axes.axisbelow": True,
    "legend.frameon": False,
}


# Chart requests run in server threads; rcParams are global, so one chart is drawn at a time.
_LOCK = threading.Lock()


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(6.4, 3.2))
    return fig, fig.add_subplot()


def _svg(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Without a CJK font on the server, glyph widths are guessed; the browser draws the real glyphs.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        fig.savefig(buf, format="svg", bbox_inches="tight")
    return buf.getvalue()


def _category_axis(ax: Axes, n: int) -> None:
    """Keep bars slim when there are few categories, and tilt long label rows."""
    if n < 5:
        ax.set_xlim(-0.5 - (5 - n) / 2, n - 0.5 + (5 - n) / 2)
    ax.tick_params(axis="x", labelrotation=30 if n > 5 else 0)


def _empty(fig: Figure, ax: Axes) -> bytes:
    ax.text(0.5, 0.5, "暂无数据", ha="center", va="center", color="#757575", transform=ax.transAxes)
    ax.set_axis_off()
    return _svg(fig)


def stacked_bars(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    colors: dict[str, str] | None = None,
    ylabel: str = "",
) -> bytes:
    """Bars per label, one stacked segment per series (e.g. open slips per unit by level)."""
    with _LOCK, matplotlib.rc_context(STYLE):
        fig, ax = _figure()
        if not labels:
            return _empty(fig, ax)
        bottom = [0.0] * len(labels)
        for i, (name, values) in enumerate(series.items()):
            color = (colors or {}).get(name, PALETTE[i % len(PALETTE)])
            ax.bar(labels, values, bottom=bottom, label=name, color=color, width=0.6)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylabel(ylabel)
        ax.legend(ncols=len(series), loc="upper right", fontsize=8)
        _category_axis(ax, len(labels))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max(bottom) * 1.25 or 1)
        return _svg(fig)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    ylabel: str = "",
    value_format: str = "{:.0f}",
    color: str = PALETTE[0],
    highlight_over: float | None = None,
    integer: bool = False,
    ymax: float | None = None,
    highlight: Sequence[bool] | None = None,
) -> bytes:
    """Simple bars with the value written on each (values above ``highlight_over``, or flagged in
    ``highlight``, in red)."""
    with _LOCK, matplotlib.rc_context(STYLE):
        fig, ax = _figure()
        if not labels:
            return _empty(fig, ax)
        colors = [
            LEVEL_COLORS["red"]
            if (highlight_over is not None and v > highlight_over) or (highlight is not None and highlight[i])
            else color
            for i, v in enumerate(values)
        ]
        rects = ax.bar(labels, values, color=colors, width=0.6)
        ax.bar_label(rects, labels=[value_format.format(v) for v in values], padding=2, fontsize=8)
        ax.set_ylabel(ylabel)
        _category_axis(ax, len(labels))
        if integer:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_ylim(0, ymax if ymax is not None else (max(values) * 1.2 or 1))
        return _svg(fig)


def lines(x: Sequence[str], series: dict[str, Sequence[float]], ylabel: str = "") -> bytes:
    """One line per series over the nights (e.g. calls per category per night)."""
    with _LOCK, matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(9.6, 3.2))
        ax = fig.add_subplot()
        if not x:
            return _empty(fig, ax)
        for i, (name, values) in enumerate(series.items()):
            ax.plot(x, values, marker="o", markersize=3, linewidth=1.6, label=name, color=PALETTE[i % 8])
        ax.set_ylabel(ylabel)
        ax.legend(ncols=min(len(series), 5), loc="upper left", fontsize=8, bbox_to_anchor=(0, 1.15))
        step = max(1, len(x) // 8)
        ax.set_xticks(range(0, len(x), step), [x[i] for i in range(0, len(x), step)])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        return _svg(fig)
