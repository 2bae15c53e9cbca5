"""The report's text and HTML, from Jinja2 templates with strict undefined variables (a typo fails, never blanks).

``images`` maps each chart name of ``CHARTS`` to the ``src`` the HTML uses: ``cid:...`` in the email, ``data:`` URIs
in the HTML and PDF exports, so one template serves both.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping
from decimal import Decimal
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from shared.domain.connections.provider_keys import display_name
from shared.domain.enterprise.model import ProviderName
from shared.domain.reports.monthly import MonthlyReport, percent, tokens, usd
from shared.domain.usage.records import CostSource
from shared.domain.usage.view import BreakdownRow, ProviderFigures
from shared.reports import charts

CHARTS = {"spend_by_day": charts.spend_by_day_png, "rate_vs_index": charts.rate_vs_index_png}
"""Chart name → function drawing it as PNG bytes."""
MODELS_SHOWN = 15
"""The email lists the most expensive models; the CSV attachment has every one."""
OPPORTUNITIES = {
    "cache": "Prompt caching for repeated prompt prefixes",
    "batch": "Batch API for work that can wait up to 24 hours",
    "model_mix": "A smaller model for simple requests",
}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("shared.reports", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        usd=usd,
        pct=lambda value, places=1: percent(value, places=places),
        tokens=tokens,
        provider=provider_name,
        discount=discount_text,
        opportunity=lambda kind: OPPORTUNITIES.get(kind, kind),
        source=source_label,
    )
    return env


def provider_name(name: str) -> str:
    try:
        return display_name(ProviderName(name))
    except ValueError:
        return name


def discount_text(value: Decimal | None) -> str:
    """``0.18`` → ``-18.0 %`` (paid 18 % under list)."""
    return "n/a" if value is None else percent(-value, signed=True)


def discount_note(discount: Decimal | None, coverage: Decimal | None) -> str:
    """What the discount speaks for: the model mix, and how much of the spend when not all of it has a list price."""
    if discount is None:
        return "no priced usage"
    if coverage is not None and coverage < 1:
        return f"on your model mix, {percent(coverage, places=0)} of billed spend priced"
    return "on your model mix"


def kpis(report: MonthlyReport) -> list[tuple[str, str, str]]:
    """The headline figures: (label, value, note) — the note compares with the previous month when there is one."""
    trend = report.trend
    previous = f" vs {_month_abbr(trend.previous_month)}" if trend else ""

    def compared(change: Decimal | None) -> str:
        return f"{percent(change, signed=True)}{previous}" if trend and change is not None else ""

    discount = report.market.realized_discount_vs_list
    spend_note = compared(trend.cost_change if trend else None)
    if report.estimated_usd > 0:
        spend_note = " · ".join(n for n in (spend_note, f"incl. {usd(report.estimated_usd)} estimated") if n)
    return [
        ("Spend", usd(report.totals.total_cost_usd), spend_note),
        ("Tokens", tokens(report.total_tokens), compared(trend.tokens_change if trend else None)),
        (
            "Blended rate / 1M",
            usd(report.effective_rates.blended),
            compared(trend.blended_rate_change if trend else None),
        ),
        ("Discount vs list", percent(discount), discount_note(discount, report.market.price_coverage)),
    ]


def source_label(row: ProviderFigures) -> str:
    """How a provider's spend was obtained, when it is not simply its bill."""
    if row.cost_source is CostSource.ESTIMATED:
        return "estimated at list prices"
    if row.cost_source is CostSource.MIXED:
        return "partly estimated"
    return ""


def estimate_notes(report: MonthlyReport) -> list[str]:
    """One sentence per provider whose spend is (partly) a list-price estimate rather than its bill."""
    notes = []
    for row in report.by_provider:
        if row.cost_source is CostSource.BILLED:
            continue
        if row.cost_source is CostSource.MIXED:
            share = f"{usd(row.totals.estimated_cost_usd)} of its {usd(row.totals.total_cost_usd)} is"
            when = " (the days without a readable bill)"
        else:
            share, when = f"all {usd(row.totals.total_cost_usd)} is", ""
        notes.append(
            f"{provider_name(row.provider)}: {share} estimated at public list prices{when}, because no bill could be "
            "read (connect the Cloud Billing export to see billed costs). Rates and the discount vs list leave it out."
        )
    return notes


def model_note(row: BreakdownRow, unpriced: Collection[str]) -> str:
    """What a model row's spend needs said next to it: unpriced usage, or an estimate rather than a bill."""
    notes = []
    if row.key in unpriced:
        notes.append("some usage not priced")
    if row.estimated_cost_usd > 0:
        whole = row.estimated_cost_usd == row.cost_usd
        notes.append("estimated" if whole else f"{usd(row.estimated_cost_usd)} estimated")
    return ", ".join(notes)


def forecast_lines(report: MonthlyReport) -> tuple[str, str] | None:
    """The forecast's headline and how it was made, or ``None`` when the report carries none."""
    forecast = report.forecast
    if forecast is None:
        return None
    headline = f"{report.forecast_label}: {usd(forecast.forecast_usd)} expected by the end of the month"
    window = (forecast.history_end - forecast.history_start).days + 1
    so_far = f"Month to date {usd(forecast.month_to_date_usd)} (to {forecast.as_of.isoformat()})."
    if forecast.days_unknown:
        so_far += f" Days without data so far: {forecast.days_unknown}, forecast like the remaining ones."
    if forecast.method == "weekday_run_rate":
        how = (
            f"Each of the {forecast.days_remaining} remaining days is forecast at the mean spend of its weekday over "
            f"the last {window} days, so weekends count as weekends."
        )
    elif forecast.method == "daily_run_rate":
        how = (
            f"Each of the {forecast.days_remaining} remaining days is forecast at the mean daily spend of the "
            f"{forecast.history_days_with_data} days with data in the last {window} days (too few for weekday rates)."
        )
    else:
        how = "There is no spend history yet, so the forecast is the month to date."
    return headline, f"{so_far} {how}"


def _month_abbr(month: str) -> str:
    from datetime import date

    return date.fromisoformat(f"{month}-01").strftime("%b")


def _context(report: MonthlyReport, settings_url: str) -> dict[str, object]:
    return {
        "report": report,
        "settings_url": settings_url,
        "kpis": kpis(report),
        "models": report.by_model[:MODELS_SHOWN],
        "hidden_models": max(0, len(report.by_model) - MODELS_SHOWN),
        "estimate_notes": estimate_notes(report),
        "forecast": forecast_lines(report),
        "model_note": model_note,
    }


def render_text(report: MonthlyReport, *, settings_url: str) -> str:
    return _environment().get_template("report.txt.j2").render(_context(report, settings_url))


def render_html(report: MonthlyReport, *, settings_url: str, images: Mapping[str, str]) -> str:
    missing = set(CHARTS) - set(images)
    if missing:
        raise ValueError(f"no image for charts {sorted(missing)}")
    return _environment().get_template("report.html.j2").render(_context(report, settings_url), images=images)


def draw_charts(report: MonthlyReport) -> dict[str, bytes]:
    """Every chart of ``CHARTS`` as PNG bytes."""
    return {name: draw(report) for name, draw in CHARTS.items()}


def data_uris(pngs: Mapping[str, bytes]) -> dict[str, str]:
    return {name: "data:image/png;base64," + base64.b64encode(png).decode() for name, png in pngs.items()}
