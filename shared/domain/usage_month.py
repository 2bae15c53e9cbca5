"""Monthly rollups (``enterprises/{id}/usage_months/{YYYY-MM}``), recomputed from the month's daily snapshots.

A month is the sum of its days' provider parts, with every rate and ratio derived again from the sums (never an
average of daily rates), so a 12-month dashboard reads 12 documents and shows exactly what the days add up to. The
month's index level is the mean of its daily levels (benchmarks-and-index.md §2). ``by_day`` keeps the few figures
a chart needs per day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.snapshot import IndexLevel, UsageSnapshot, UsageView, expiry, view_fields
from shared.domain.snapshot_parts import ProviderPart
from shared.domain.usage_tally import DERIVED_PLACES, Money, Ratio


def month_key(day: date) -> str:
    """``YYYY-MM`` of ``day``: the rollup's document id."""
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` month."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


class DayFigures(BaseModel):
    """One day's headline figures inside its month's rollup."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    total_cost_usd: Money
    estimated_cost_usd: Money = Decimal(0)
    """The part of ``total_cost_usd`` estimated at list prices (a provider whose bill is not readable)."""
    list_cost_usd: Money
    effective_blended_rate: Ratio | None
    failed_providers: list[str] = Field(default_factory=list)


class UsageMonth(UsageView):
    """``enterprises/{id}/usage_months/{YYYY-MM}``."""

    month: str
    days: int
    """Days with a snapshot."""
    by_day: dict[str, DayFigures] = Field(default_factory=dict)
    expire_at: datetime


def rollup_month(month: str, days: Iterable[UsageSnapshot], *, retention_months: int) -> UsageMonth | None:
    """The month's rollup from its daily snapshots (any order); ``None`` when it has none."""
    first, last = month_bounds(month)
    snapshots = sorted((s for s in days if first <= s.date <= last), key=lambda s: s.date)
    if not snapshots:
        return None
    parts: dict[str, ProviderPart] = {}
    for snapshot in snapshots:
        for provider, part in snapshot.by_provider.items():
            parts[provider] = parts[provider].plus(part) if provider in parts else part
    return UsageMonth.model_validate(
        {
            **view_fields(parts, _month_index(snapshots)),
            "month": month,
            "days": len(snapshots),
            "by_day": {s.date.isoformat(): _figures(s) for s in snapshots},
            "expire_at": expiry(last, retention_months),
        }
    )


def _month_index(snapshots: list[UsageSnapshot]) -> IndexLevel | None:
    levels = [s.benchmark.stci_frontier_blended for s in snapshots if s.benchmark.stci_frontier_blended is not None]
    if not levels:
        return None
    versions = sorted({s.index_version for s in snapshots if s.index_version})
    mean = (sum(levels, Decimal(0)) / len(levels)).quantize(DERIVED_PLACES)
    return IndexLevel(blended=mean, version=",".join(versions))


def _figures(snapshot: UsageSnapshot) -> DayFigures:
    t = snapshot.totals
    return DayFigures(
        input_tokens=t.input_tokens,
        output_tokens=t.output_tokens,
        cached_tokens=t.cached_tokens,
        total_cost_usd=t.total_cost_usd,
        estimated_cost_usd=t.estimated_cost_usd,
        list_cost_usd=t.list_cost_usd,
        effective_blended_rate=snapshot.rates.effective_blended_rate,
        failed_providers=sorted(snapshot.failed_providers),
    )
