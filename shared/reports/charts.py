"""The report's two charts as PNG bytes: spend by day, and the blended rate against the market index.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state), so concurrent requests in one
instance cannot draw on each other's figures. Sized for a 600 px email column at 2x for sharp screens.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from shared.domain.reports.monthly import MonthlyReport

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn: it costs seconds of a cold start otherwise
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

WIDTH_IN, HEIGHT_IN, DPI = 6.0, 2.4, 200
INK, MUTED, ACCENT, INDEX, ESTIMATE = "#1f2933", "#7b8794", "#2f6fed", "#e66a1f", "#a9c2f7"


def _figure() -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    return out.getvalue()


def _money_ticks(text: Callable[[float], str]) -> FuncFormatter:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: text(value))


def _style(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(MUTED)
    axes.tick_params(colors=INK, labelsize=7)
    axes.grid(axis="y", color="#e4e7eb", linewidth=0.6)
    axes.set_axisbelow(True)


def _day_ticks(days: list[date]) -> tuple[list[int], list[str]]:
    step = max(1, len(days) // 8)
    positions = list(range(0, len(days), step))
    return positions, [days[i].strftime("%d %b") for i in positions]


def spend_by_day_png(report: MonthlyReport) -> bytes:
    """Bars of spend (USD) per day of the month; days whose sync failed are drawn in grey, and the part estimated at
    list prices (a provider without a readable bill) is stacked on top in a lighter, hatched shade."""
    figure = _figure()
    axes = figure.add_subplot()
    _style(axes)
    days = [entry.date for entry in report.by_day]
    billed = [float(entry.total_cost_usd - entry.estimated_cost_usd) for entry in report.by_day]
    estimated = [float(entry.estimated_cost_usd) for entry in report.by_day]
    colours = [MUTED if entry.failed_providers else ACCENT for entry in report.by_day]
    axes.bar(range(len(days)), billed, color=colours, width=0.75, label="Billed")
    if any(estimated):
        axes.bar(
            range(len(days)),
            estimated,
            bottom=billed,
            color=ESTIMATE,
            hatch="////",
            edgecolor="white",
            linewidth=0,
            width=0.75,
            label="Estimated at list prices",
        )
        axes.legend(fontsize=6, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncols=2, borderaxespad=0)
    positions, labels = _day_ticks(days)
    axes.set_xticks(positions, labels)
    axes.yaxis.set_major_formatter(_money_ticks(lambda v: f"${v:,.0f}" if v >= 10 else f"${v:,.2f}"))
    axes.set_ylabel("USD per day", fontsize=7, color=MUTED)
    if not days:
        axes.text(0.5, 0.5, "No usage this month", transform=axes.transAxes, ha="center", color=MUTED)
    return _png(figure)


def rate_vs_index_png(report: MonthlyReport) -> bytes:
    """The daily blended rate (USD per 1M tokens) with the month's market index level as a dashed line."""
    figure = _figure()
    axes = figure.add_subplot()
    _style(axes)
    rates = [(i, e.effective_blended_rate) for i, e in enumerate(report.by_day)]
    points = [(i, rate) for i, rate in rates if rate is not None]
    days = [entry.date for entry in report.by_day]
    if points:
        axes.plot([i for i, _ in points], [float(r) for _, r in points], color=ACCENT, linewidth=1.6, label="You")
    index = report.market.index_blended_rate
    if index is not None and days:
        axes.axhline(float(index), color=INDEX, linestyle="--", linewidth=1.2, label=f"{report.market.index} (list)")
    positions, labels = _day_ticks(days)
    axes.set_xticks(positions, labels)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(_money_ticks(lambda v: f"${v:,.2f}"))
    axes.set_ylabel("USD per 1M tokens", fontsize=7, color=MUTED)
    if points or index is not None:
        axes.legend(fontsize=7, frameon=False, loc="lower right")
    else:
        axes.text(0.5, 0.5, "No priced usage this month", transform=axes.transAxes, ha="center", color=MUTED)
    return _png(figure)
