"""The monthly report of one enterprise: what it spent, what it paid per 1M tokens, and where it could save.

One model feeds every format (the email's text and HTML parts, the JSON, CSV and PDF exports), so every figure an
admin forwards to finance is the same wherever it is read. The figures come from the usage API's own computation
(``shared.domain.usage.view``) over the calendar month (UTC); this module only adds the comparisons:

* **trend**: the change against the previous month, as a ratio (``0.125`` is +12.5 %), ``None`` when the previous
  month had nothing to compare with (no division by zero dressed up as "+∞ %");
* **market index**: the month's mean ``STCI-FRONTIER`` level and the enterprise's blended rate as a share of it;
* **notes**: reconciliation flags, unpriced models (shown as "not priced", never as $0), providers whose key failed,
  and costs that are list-price estimates rather than bills (each provider's ``cost_source``);
* **forecast**: the current month's month-end forecast (``shared.domain.usage.forecast``), with the monthly email.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.connections.provider_keys import display_name
from shared.domain.enterprise.model import ProviderName
from shared.domain.peers.position import PeerPosition
from shared.domain.usage.forecast import MonthForecast
from shared.domain.usage.month import month_bounds
from shared.domain.usage.snapshot import Totals
from shared.domain.usage.tally import DERIVED_PLACES, Money, Ratio
from shared.domain.usage.view import BreakdownRow, DayEntry, EffectiveRates, ProviderFigures, UsageReport

_VIEW = ConfigDict(extra="forbid", frozen=True)


class ReportEnterprise(BaseModel):
    model_config = _VIEW

    id: str
    name: str


class MarketComparison(BaseModel):
    """The enterprise's blended rate against the public list-price index on the same blend."""

    model_config = _VIEW

    index: str
    index_blended_rate: Money | None
    """Mean ``STCI-FRONTIER`` level over the month, USD per 1M tokens."""
    index_version: str | None
    your_blended_rate: Money | None
    rate_vs_index: Ratio | None
    """``your_blended_rate / index_blended_rate``; below 1 means below the market's list prices."""
    realized_discount_vs_list: Ratio | None
    """``1 - billed / list`` on the enterprise's own model mix."""
    price_coverage: Ratio | None = None
    """Share of the billed token spend the discount speaks for (usage without an exact list price is left out)."""


class Trend(BaseModel):
    """This month against the previous one."""

    model_config = _VIEW

    previous_month: str
    previous_cost_usd: Money
    previous_tokens: int
    previous_blended_rate: Money | None
    cost_change: Ratio | None
    tokens_change: Ratio | None
    blended_rate_change: Ratio | None


class Opportunity(BaseModel):
    model_config = _VIEW

    kind: str
    """``cache``, ``batch`` or ``model_mix``."""
    savings_usd: Money


class KeyWarning(BaseModel):
    model_config = _VIEW

    provider: str
    status: Literal["key_failed", "disconnected"]
    since: datetime | None
    message: str


class ReconciliationNote(BaseModel):
    model_config = _VIEW

    provider: str
    billed_usd: Money
    list_usd: Money
    flagged_days: int
    reasons: list[str]


class PeerSummary(BaseModel):
    """The month's peer position when a benchmark is published and the enterprise shares its figures."""

    model_config = _VIEW

    status: Literal["positioned", "not_published", "not_sharing"]
    enterprise_count_band: str | None = None
    position: PeerPosition | None = None
    lines: list[str] = []
    """One readable sentence per metric, e.g. "Blended rate: between p25 and p50 (better than 62 % of peers)"."""


class MonthlyReport(BaseModel):
    """``GET /api/v1/enterprise/reports/{YYYY-MM}`` as JSON, and the content of the monthly email."""

    model_config = _VIEW

    enterprise: ReportEnterprise
    month: str
    start: date
    end: date
    complete: bool
    """False for the current month (month to date)."""
    generated_at: datetime
    totals: Totals
    effective_rates: EffectiveRates
    market: MarketComparison
    by_provider: list[ProviderFigures]
    """Each provider's figures and its ``cost_source``: ``billed`` (its bill), ``estimated`` (usage at list prices,
    no bill readable: Google without a billing export) or ``mixed``."""
    cost_notes: list[str] = []
    """The usage API's ``notes``: which costs are estimates rather than bills, in words."""
    sync_notes: list[str] = []
    """Days whose cost the provider has not billed yet, and days the sync could not pull (ADR 0016): never $0."""
    forecast: MonthForecast | None = None
    """The current month's month-end forecast, when the report is about the current month or the one before."""
    by_model: list[BreakdownRow]
    by_day: list[DayEntry]
    trend: Trend | None
    opportunities: list[Opportunity]
    potential_savings_usd: Money
    cache_hit_rate: Ratio | None
    batch_share: Ratio | None
    peers: PeerSummary
    reconciliation: list[ReconciliationNote]
    unpriced_models: list[str]
    key_warnings: list[KeyWarning]
    price_data_version: str | None

    @property
    def has_usage(self) -> bool:
        return bool(self.by_day) and (self.total_tokens > 0 or self.totals.total_cost_usd > 0)

    @property
    def total_tokens(self) -> int:
        return self.totals.input_tokens + self.totals.output_tokens + self.totals.cached_tokens

    @property
    def month_label(self) -> str:
        return self.start.strftime("%B %Y")

    @property
    def estimated_usd(self) -> Decimal:
        """How much of ``totals.total_cost_usd`` is a list-price estimate, not a bill."""
        return self.totals.estimated_cost_usd

    @property
    def forecast_label(self) -> str | None:
        """``November 2026`` (month to date) or ``December 2026`` (the month after the report's)."""
        if self.forecast is None:
            return None
        return month_bounds(self.forecast.month)[0].strftime("%B %Y")


def previous_month(month: str) -> str:
    first, _ = month_bounds(month)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def change(now: Decimal | int | None, before: Decimal | int | None) -> Decimal | None:
    """``now / before - 1``, or None when there is nothing to compare with."""
    if now is None or before is None or before == 0:
        return None
    return (Decimal(now) / Decimal(before) - 1).quantize(DERIVED_PLACES)


def trend(current: UsageReport, previous: UsageReport, previous_key: str) -> Trend | None:
    tokens_before = previous.totals.input_tokens + previous.totals.output_tokens + previous.totals.cached_tokens
    if not previous.by_day or (tokens_before == 0 and previous.totals.total_cost_usd == 0):
        return None
    tokens_now = current.totals.input_tokens + current.totals.output_tokens + current.totals.cached_tokens
    rate_now, rate_before = current.effective_rates.blended, previous.effective_rates.blended
    return Trend(
        previous_month=previous_key,
        previous_cost_usd=previous.totals.total_cost_usd,
        previous_tokens=tokens_before,
        previous_blended_rate=rate_before,
        cost_change=change(current.totals.total_cost_usd, previous.totals.total_cost_usd),
        tokens_change=change(tokens_now, tokens_before),
        blended_rate_change=change(rate_now, rate_before),
    )


def market(usage: UsageReport) -> MarketComparison:
    index = usage.benchmark.stci_frontier_blended
    rate = usage.effective_rates.blended
    ratio = (rate / index).quantize(DERIVED_PLACES) if rate is not None and index else None
    return MarketComparison(
        index=usage.benchmark.index,
        index_blended_rate=index,
        index_version=usage.benchmark.index_version,
        your_blended_rate=rate,
        rate_vs_index=ratio,
        realized_discount_vs_list=usage.benchmark.your_discount,
        price_coverage=usage.benchmark.price_coverage,
    )


def reconciliation_notes(usage: UsageReport) -> list[ReconciliationNote]:
    """Providers whose billed cost and usage-priced cost disagree on some day (the reasons say why)."""
    return [
        ReconciliationNote(
            provider=provider,
            billed_usd=view.billed_usd,
            list_usd=view.list_usd,
            flagged_days=view.flagged_days,
            reasons=view.reasons,
        )
        for provider, view in sorted(usage.reconciliation.items())
        if view.flagged
    ]


def key_warning(provider: str, status: str, since: datetime | None) -> KeyWarning | None:
    name = display_name(ProviderName(provider))
    if status == "key_failed":
        message = f"The {name} admin key stopped working: its usage is missing until a working key is connected."
        return KeyWarning(provider=provider, status="key_failed", since=since, message=message)
    if status == "disconnected":
        message = f"{name} is disconnected: its usage after the disconnection is not included."
        return KeyWarning(provider=provider, status="disconnected", since=since, message=message)
    return None


def percent(value: Decimal | None, *, signed: bool = False, places: int = 1) -> str:
    """``0.125`` → ``12.5 %`` (``+12.5 %`` when signed); ``None`` → ``n/a``."""
    if value is None:
        return "n/a"
    shown = (value * 100).quantize(Decimal(1).scaleb(-places))
    sign = "+" if signed and shown > 0 else ""
    return f"{sign}{shown} %"


def usd(value: Decimal | None, places: int = 2) -> str:
    """``Decimal("1234.5")`` → ``$1,234.50``; negative amounts as ``-$1.00``; ``None`` → ``n/a``."""
    if value is None:
        return "n/a"
    shown = abs(value).quantize(Decimal(1).scaleb(-places))
    return f"{'-' if value < 0 else ''}${shown:,}"


def tokens(value: int) -> str:
    """Token counts the way people read them: ``1.25M``, ``830K``, ``950``."""
    for size, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if value >= size:
            return f"{Decimal(value) / size:.2f}".rstrip("0").rstrip(".") + unit
    return str(value)
