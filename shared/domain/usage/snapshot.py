"""Daily usage snapshots (``enterprises/{id}/usage_snapshots/{YYYY-MM-DD}``), built from provider parts.

A snapshot is its provider parts (``by_provider``, see ``shared.domain.usage.snapshot_parts``) plus fields derived from
them, so a day can be rebuilt when only some providers were re-pulled: a provider whose pull or day failed keeps its
previous part, one that succeeded replaces its own. Nothing in a snapshot depends on when it was built (the sync
time is stored beside it by the adapter), so the same provider data always gives an identical document.

Metrics (benchmarks-and-index.md §1):

* ``totals``: ``input_tokens`` is all input (uncached + cache reads + cache writes); ``total_cost_usd`` what the
  providers billed (every cost line) plus, for providers whose bill is not readable, their usage at list price,
  which ``estimated_cost_usd`` isolates; ``list_cost_usd`` the priced usage at list price.
* ``by_provider.<p>.cost_source``: ``billed``, ``estimated`` or ``mixed`` (``shared.domain.usage.snapshot_parts``);
  ``cost_sources`` repeats it per provider. Rates and the discount use billed money only.
* ``rates`` (M2): input-side billed cost ÷ input tokens, output cost ÷ output tokens, USD per 1M, blended 3:1.
* ``benchmark`` (M1, M3): ``discount_vs_list = 1 - billed/list`` over the reconciliation's comparable amounts,
  shown next to the ``STCI-FRONTIER`` level, which uses the same 3:1 blend. Never ``(index - R) / index``.
* ``failed_providers``: providers whose data for the day could not be read and that have no earlier good part.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.usage.records import CostSource, price_coverage
from shared.domain.usage.snapshot_parts import ProviderPart, add_money, union
from shared.domain.usage.tally import (
    DERIVED_PLACES,
    Comparison,
    Mix,
    Money,
    RateBasis,
    Rates,
    Ratio,
    Tally,
    ratio,
    total,
)

SCHEMA_VERSION = 1
INDEX_NAME = "STCI-FRONTIER"

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_ZERO = Decimal(0)


class Totals(BaseModel):
    model_config = _FROZEN

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    total_cost_usd: Money = _ZERO
    """Billed cost, plus ``estimated_cost_usd``."""
    estimated_cost_usd: Money = _ZERO
    """The part of ``total_cost_usd`` estimated at list prices because a provider's bill is not readable."""
    list_cost_usd: Money = _ZERO
    request_count: int | None = None
    credits_usd: Money = _ZERO
    """The part of ``total_cost_usd`` that is credits, refunds and adjustments (FOCUS ChargeCategory Credit /
    Adjustment; usually negative): in the bill, never in the rates or the discount."""
    pending_cost_days: int = 0
    """Provider-days whose usage is in but whose bill is not yet: their cost is not in ``total_cost_usd`` (it is
    not final), and rates and the discount leave them out."""

    @classmethod
    def of(cls, tally: Tally) -> Totals:
        return cls(
            input_tokens=tally.input_tokens,
            output_tokens=tally.output_tokens,
            cached_tokens=tally.cached_tokens,
            cache_write_tokens=tally.cache_write_tokens,
            total_cost_usd=tally.cost_usd,
            estimated_cost_usd=tally.estimated_cost_usd,
            list_cost_usd=tally.list_cost_usd,
            request_count=tally.request_count,
        )


class IndexLevel(BaseModel):
    """The market index level a period is compared with (same 3:1 blend as the enterprise's rate)."""

    model_config = _FROZEN

    blended: Money
    """USD per 1M tokens."""
    version: str


class Benchmark(BaseModel):
    model_config = _FROZEN

    index: str = INDEX_NAME
    stci_frontier_blended: Money | None = None
    """The index level: list prices of the frontier basket, 3:1 blend. ``None`` when not published."""
    effective_blended_rate: Ratio | None = None
    """The enterprise's blended rate, next to the index: it reflects model choice *and* discount."""
    discount_vs_list: Ratio | None = None
    """``1 - billed/list`` for the same usage (M1): the discount, whatever the model mix."""
    realized_price_ratio: Ratio | None = None
    """``billed/list`` (M1's rho)."""
    price_coverage: Ratio | None = None
    """Share of the billed token spend the discount speaks for: usage without an exact list price is left out of
    both sides of M1 (``shared.domain.usage.reconcile``). ``None`` when nothing was billed."""


class Optimization(BaseModel):
    model_config = _FROZEN

    cache_hit_rate: Ratio | None = None
    """Cache reads ÷ all input tokens."""
    batch_share: Ratio | None = None
    """Tokens processed at the batch tier ÷ all tokens."""
    potential_savings_usd: Money = _ZERO
    """Sum of the opportunities' estimated savings over the period (``shared.domain.optimisation.opportunities``, per
    provider)."""
    savings_by_opportunity: dict[str, Money] = Field(default_factory=dict)


class ReconciliationView(BaseModel):
    model_config = _FROZEN

    billed_usd: Money
    list_usd: Money
    ratio: Ratio | None
    flagged: bool
    flagged_days: int
    reasons: list[str]
    unpriced_billed_usd: Money = _ZERO
    """Billed spend of usage without an exact list price, left out of ``billed_usd`` and ``list_usd``."""
    price_coverage: Ratio | None = None


class BreakdownEntry(BaseModel):
    """A model's or a project's figures across providers."""

    model_config = _FROZEN

    providers: list[str]
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    cost_usd: Money
    estimated_cost_usd: Money = _ZERO
    """The part of ``cost_usd`` estimated at list prices (providers whose bill is not readable)."""
    list_cost_usd: Money
    request_count: int | None


class UsageView(BaseModel):
    """Everything a day or a month shows, derived from its provider parts."""

    model_config = _FROZEN

    schema_version: int = SCHEMA_VERSION
    totals: Totals = Totals()
    rates: Rates = Rates()
    benchmark: Benchmark = Benchmark()
    optimization: Optimization = Optimization()
    by_provider: dict[str, ProviderPart] = Field(default_factory=dict)
    cost_sources: dict[str, CostSource] = Field(default_factory=dict)
    """Provider → ``billed`` / ``estimated`` / ``mixed``: whether its money is from its bill or from list prices."""
    by_model: dict[str, BreakdownEntry] = Field(default_factory=dict)
    by_project: dict[str, BreakdownEntry] = Field(default_factory=dict)
    """Keyed ``{provider}:{project}``: OpenAI projects and Anthropic workspaces are separate namespaces."""
    reconciliation: dict[str, ReconciliationView] = Field(default_factory=dict)
    unpriced_models: list[str] = Field(default_factory=list)
    price_data_version: str | None = None
    """Version(s) of the list-price data (``genai-prices``), comma separated when parts used different ones."""
    index_version: str | None = None


class UsageSnapshot(UsageView):
    """``enterprises/{id}/usage_snapshots/{date}``."""

    date: date
    failed_providers: dict[str, str] = Field(default_factory=dict)
    """Provider → error code, for providers whose day could not be read and that have no earlier good part."""
    expire_at: datetime
    """Firestore TTL field: the snapshot is deleted after the retention period."""


def view_fields(parts: Mapping[str, ProviderPart], index: IndexLevel | None) -> dict[str, object]:
    """The derived fields of a period (day or month) from its provider parts and its index level."""
    ordered = dict(sorted(parts.items()))
    tally = total((p.tally for p in ordered.values()), Tally())
    basis = total((p.rate_basis for p in ordered.values()), RateBasis())
    comparison = total((p.comparison for p in ordered.values()), Comparison())
    mix = total((p.mix for p in ordered.values()), Mix())
    rates = Rates.of(basis)
    rho = ratio(comparison.billed_usd, comparison.list_usd)
    savings: dict[str, Decimal] = {}
    for part in ordered.values():
        savings = add_money(savings, part.savings_usd)
    totals = Totals.of(tally).model_copy(
        update={
            "credits_usd": sum((p.credits_usd for p in ordered.values()), _ZERO),
            "pending_cost_days": sum(p.pending_days for p in ordered.values()),
        }
    )
    return {
        "totals": totals,
        "rates": rates,
        "benchmark": Benchmark(
            stci_frontier_blended=index.blended if index else None,
            effective_blended_rate=rates.effective_blended_rate,
            discount_vs_list=None if rho is None else Decimal(1) - rho,
            realized_price_ratio=rho,
            price_coverage=coverage(comparison),
        ),
        "optimization": Optimization(
            cache_hit_rate=ratio(Decimal(tally.cached_tokens), Decimal(tally.input_tokens)),
            batch_share=ratio(Decimal(mix.batch_tokens), Decimal(mix.tokens)),
            potential_savings_usd=sum(savings.values(), _ZERO),
            savings_by_opportunity=savings,
        ),
        "by_provider": ordered,
        "cost_sources": {name: part.cost_source for name, part in ordered.items()},
        "by_model": _across(ordered, lambda part: part.by_model),
        "by_project": _across(ordered, lambda part: part.by_project, prefix=True),
        "reconciliation": {name: _reconciliation(part) for name, part in ordered.items()},
        "unpriced_models": sorted({m for p in ordered.values() for m in p.unpriced_models}),
        "price_data_version": ",".join(sorted({v for p in ordered.values() for v in p.price_data_versions})) or None,
        "index_version": index.version if index else None,
    }


def _across(
    parts: Mapping[str, ProviderPart], pick: Callable[[ProviderPart], Mapping[str, Tally]], *, prefix: bool = False
) -> dict[str, BreakdownEntry]:
    tallies: dict[str, Tally] = {}
    providers: dict[str, list[str]] = {}
    for name, part in parts.items():
        for key, tally in pick(part).items():
            k = f"{name}:{key}" if prefix else key
            tallies[k] = tallies[k].plus(tally) if k in tallies else tally
            providers[k] = union(providers.get(k, []), [name])
    return {k: BreakdownEntry(providers=providers[k], **tallies[k].model_dump(mode="python")) for k in sorted(tallies)}


def _reconciliation(part: ProviderPart) -> ReconciliationView:
    c = part.comparison
    return ReconciliationView(
        billed_usd=c.billed_usd,
        list_usd=c.list_usd,
        ratio=ratio(c.billed_usd, c.list_usd),
        flagged=c.flagged_days > 0,
        flagged_days=c.flagged_days,
        reasons=part.reconciliation_reasons,
        unpriced_billed_usd=c.unpriced_billed_usd,
        price_coverage=coverage(c),
    )


def coverage(comparison: Comparison) -> Decimal | None:
    """The price coverage of a comparison, rounded like every derived ratio."""
    value = price_coverage(comparison.billed_usd, comparison.unpriced_billed_usd)
    return None if value is None else value.quantize(DERIVED_PLACES)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the target month's last day."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def expiry(last_day: date, retention_months: int) -> datetime:
    """00:00 UTC of the day after ``last_day`` plus the retention period (the TTL's ``expire_at``)."""
    end = last_day + timedelta(days=1)
    moved = add_months(end, retention_months)
    return datetime(moved.year, moved.month, moved.day, tzinfo=UTC)


def build_snapshot(
    day: date,
    parts: Mapping[str, ProviderPart],
    *,
    failed: Mapping[str, str] | None = None,
    index: IndexLevel | None,
    retention_months: int,
) -> UsageSnapshot:
    """The snapshot of ``day`` from its providers' parts; ``failed`` names providers with no usable data."""
    failures = {p: code for p, code in sorted((failed or {}).items()) if p not in parts}
    return UsageSnapshot.model_validate(
        {
            **view_fields(parts, index),
            "date": day,
            "failed_providers": failures,
            "expire_at": expiry(day, retention_months),
        }
    )


def refresh_snapshot(
    day: date,
    existing: UsageSnapshot | None,
    fresh: Mapping[str, ProviderPart],
    failed_now: Mapping[str, str],
    *,
    index: IndexLevel | None,
    retention_months: int,
) -> UsageSnapshot | None:
    """The day's new snapshot after a sync, or ``None`` when there is nothing to store.

    ``fresh`` holds the parts of the providers whose day was read; ``failed_now`` the providers whose day failed
    (malformed). Parts of every other provider, and the previous part of a provider whose day failed, are kept from
    ``existing``: a failure never replaces good data. A provider with a fresh part loses any earlier failure mark.
    """
    parts = dict(existing.by_provider) if existing else {}
    failed = dict(existing.failed_providers) if existing else {}
    parts.update(fresh)
    for provider in fresh:
        failed.pop(provider, None)
    failed.update({p: code for p, code in failed_now.items() if p not in parts})
    if not parts and not failed:
        return None
    return build_snapshot(day, parts, failed=failed, index=index, retention_months=retention_months)
