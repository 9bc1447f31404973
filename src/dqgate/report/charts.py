"""Charts for the HTML report, drawn by matplotlib and inlined as SVG.

matplotlib renders offline (the ``svg`` backend, no display, no network) and its SVG
is inlined into the page, so the report needs nothing at view time. Text stays text
(``svg.fonttype: none``) so the file is small and its numbers can be read back, and
the hash salt is fixed so the same data always gives the same bytes.
"""

from __future__ import annotations

import io
import re
from typing import Any

_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "dqgate",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 72,
}
MARKED_POINTS = 40
"""Up to this many versions, each value of a metric history gets a marker."""
_PASS, _FAIL, _WARN, _REF = "#2e7d32", "#c62828", "#ef8f00", "#78909c"


def _figure(height: float, *, integer_x: bool = False) -> tuple[Any, Any]:
    """A figure on the SVG canvas alone: no pyplot, no GUI backend, no global figure registry
    (pyplot's import and state cost more than a chart), fixed margins instead of a tight
    bounding box (which draws every chart twice).

    Ticks are most of a chart's drawing time (each is two lines, a label and a grid line,
    measured and laid out), so the axes get few of them: at most 6 on x, 4 on y; a
    100-version history needs no more to be read."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.4, height))
    FigureCanvasSVG(fig)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.2, top=0.88)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=integer_x))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    return fig, ax


def _title(ax: Any, text: str) -> None:
    """The chart's title at a fixed height: matplotlib otherwise lays out every tick label
    once more to find where the title clears them (a quarter of a chart's drawing time)."""
    ax.set_title(text, loc="left", fontsize=9, y=1.02)


def _rc() -> Any:
    import matplotlib

    return matplotlib.rc_context(_STYLE)


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})  # no timestamp: the same data, the same bytes
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # the XML prolog and DOCTYPE do not belong inside HTML
    # scale with the page: keep the viewBox, drop the fixed size
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 class="chart" preserveAspectRatio="xMinYMin meet"', text, count=1)


def metric_history(title: str, versions: list[int], values: list[float], band: list[tuple[float, float] | None], *,
                   current: float | None = None, bounds: tuple[float | None, float | None] = (None, None)) -> str:  # fmt: skip
    """A metric across versions, with its anomaly band (where one is computed) and its fixed bounds."""
    with _rc():
        return _metric_history(_figure(2.4, integer_x=True), title, versions, values, band, current=current, bounds=bounds)


def metric_histories(series: list[tuple[str, list[int], list[float], list[tuple[float, float] | None], tuple[float | None, float | None]]]) -> list[str]:
    """:func:`metric_history` of each ``(title, versions, values, band, bounds)``, drawn on one
    figure in turn: an axes and its ticks cost a fifth of a chart to build, so they are
    built once and emptied between charts (the SVG is byte for byte a fresh figure's,
    tests/report/test_charts_reuse.py)."""
    out: list[str] = []
    with _rc():
        canvas = None
        for title, versions, values, band, bounds in series:
            canvas = _figure(2.4, integer_x=True) if canvas is None else _emptied(*canvas)
            out.append(_metric_history(canvas, title, versions, values, band, bounds=bounds))
    return out


def _emptied(fig: Any, ax: Any) -> tuple[Any, Any]:
    """``fig`` and ``ax`` with what a chart drew taken away: as :func:`_figure` made them,
    down to the colour cycle and autoscaling (the title and labels are set by every chart)."""
    for artist in [*ax.lines, *ax.collections, *ax.patches]:
        artist.remove()
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    ax.relim()
    ax.set_autoscale_on(True)
    ax.set_prop_cycle(None)
    return fig, ax


def _metric_history(canvas: tuple[Any, Any], title: str, versions: list[int], values: list[float], band: list[tuple[float, float] | None], *,
                    current: float | None = None, bounds: tuple[float | None, float | None] = (None, None)) -> str:  # fmt: skip
    fig, ax = canvas
    # a marker per version while they can be told apart; a long history reads as a line
    # (and a hundred markers are ~15% of the chart's drawing)
    marker = {"marker": "o", "markersize": 2.5} if len(versions) <= MARKED_POINTS else {}
    ax.plot(versions, values, linewidth=1.2, color="#1565c0", label="published value", **marker)
    xs = [v for v, b in zip(versions, band) if b is not None]
    if xs:
        lows = [b[0] for b in band if b is not None]
        highs = [b[1] for b in band if b is not None]
        ax.fill_between(xs, lows, highs, color="#90caf9", alpha=0.35, linewidth=0, label="anomaly band")
    shown = values + [x for b in band if b is not None for x in b]
    low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
    pad = (high - low) * 0.15 or abs(high) * 0.1 or 1.0
    for bound in bounds:  # a bound far from the data would flatten it: draw only the near ones
        if bound is not None and low - 3 * pad <= bound <= high + 3 * pad:
            ax.axhline(bound, color=_FAIL, linewidth=0.8, linestyle="--", label="bound")
            low, high = min(low, bound), max(high, bound)
    ax.set_ylim(low - pad, high + pad)
    if current is not None:
        ax.plot([versions[-1] + 1 if versions else 1], [current], marker="D", color=_WARN, linestyle="none", label="this batch")
    _title(ax, title)
    ax.set_xlabel("version")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    return _svg(fig)


def drift_histogram(title: str, labels: list[str], reference: list[float], batch: list[float]) -> str:
    """Reference and batch distributions of one column, as shares of their non-null values."""
    with _rc():
        fig, ax = _figure(2.6)
        fig.subplots_adjust(bottom=0.3)
        xs = list(range(len(labels)))
        width = 0.42
        ax.bar([x - width / 2 for x in xs], reference, width, color=_REF, label="reference")
        ax.bar([x + width / 2 for x in xs], batch, width, color="#1565c0", label="batch")
        ax.set_xticks(xs, labels, rotation=45 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center", fontsize=7)
        ax.set_ylabel("share")
        _title(ax, title)
        ax.legend(loc="upper right", fontsize=7, frameon=False)
        return _svg(fig)


def timeline(versions: list[int], rows: list[int], statuses: list[str]) -> str:
    """Rows per published version, coloured by the version's status."""
    colours = {"pass": _PASS, "warn": _WARN, "fail": _FAIL}
    with _rc():
        fig, ax = _figure(2.0, integer_x=True)
        # one line collection, not a rectangle patch per version: a hundred bars cost 4x more to draw
        ax.vlines(versions, 0, rows, colors=[colours.get(s, _REF) for s in statuses], linewidth=max(1.0, 300 / max(len(versions), 1)))
        ax.set_ylim(0, max(rows, default=1) * 1.05)
        ax.set_xlabel("version")
        ax.set_ylabel("rows")
        _title(ax, "rows per version (green pass, orange warn)")
        return _svg(fig)
