"""Optimisation metrics and savings opportunities for one enterprise's usage over a period.

Metrics (token semantics of ``shared.domain.usage.records``):

* ``cache_hit_rate`` = cache-read tokens ÷ all input tokens (uncached + cache reads + cache writes);
* ``batch_share`` = batch-tier tokens ÷ all tokens (input and output).

Opportunities, each computed independently against the current usage (where two touch the same tokens, their sum
slightly overstates doing both):

* ``cache``: raise the cache hit rate of the models with cache pricing (cache-read price below the input price) to
  the target (default 50%). The missing reads are taken from uncached input, spread over those models in proportion to
  their uncached input. Assumption: each newly cached token is first written once and then read
  ``reads_per_cache_write`` times (default 1, the least reuse that makes caching worthwhile), and a write replaces an
  uncached token at the model's 5-minute cache-write price. Where the provider does not charge writes (OpenAI,
  Google implicit caching) the price data gives the input price, so the write costs nothing extra. Context-cache
  storage fees are not modelled. No opportunity when the rate already reaches the target.
* ``batch``: move a share (default 30%) of every model's eligible traffic (not already batch, not priority) to the
  batch tier at that model's batch price, all token meters.
* ``model_mix``: move a share (default 30%) of a model's base-context traffic to the same provider's cheaper tier
  (``data/model_alternatives.json``), same meters and tier. Long-context traffic stays (the cheaper model may not
  accept it); whether the cheaper model's quality suffices is the enterprise's call.

Money: list prices come from the bundled ``genai-prices`` data at each record's day (``list_unit_price``), never from
constants, and every amount is multiplied by the enterprise's realised price ratio ``rho = billed ÷ list`` (M1) for
the period, so savings are in the money it actually pays. ``current_usd`` is what the touched traffic costs now,
``potential_usd`` what it would cost after the change. Amounts are rounded to 6 decimal places.

Period: figures are for the period the records cover (a day's records give savings per day, a month's per month).
``monthly_projection`` scales a shorter period's money linearly to a longer one (e.g. a day to the month).

Unpriced usage is never counted as $0: its models are listed in ``unpriced_models`` and take no part. A model whose
hypothetical price (batch tier, cheaper model) is missing is left out of that opportunity and listed in ``skipped``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cached_property, lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.optimisation.rules import Change, OpportunityKind, batch_changes, cache_change, model_mix_changes
from shared.domain.peers.models import PublishedFigure
from shared.domain.usage.pricing import PRICE_DATA_VERSION
from shared.domain.usage.records import Provider, ServiceTier, UsageRecord

ALTERNATIVES_RESOURCE = "model_alternatives.json"
USD_QUANTUM = Decimal("0.000001")
RATE_QUANTUM = Decimal("0.0001")

_FROZEN = ConfigDict(frozen=True, extra="forbid")

__all__ = [
    "Assumptions",
    "ModelAlternative",
    "ModelAlternatives",
    "Opportunity",
    "OpportunityKind",
    "Optimisation",
    "SkippedModel",
    "compute_optimisation",
    "default_alternatives",
    "monthly_projection",
    "savings_by_kind",
]


@dataclass(frozen=True)
class Assumptions:
    """The configurable parameters of the opportunities."""

    target_cache_hit_rate: Decimal = Decimal("0.5")
    batch_shift_share: Decimal = Decimal("0.3")
    model_mix_share: Decimal = Decimal("0.3")
    reads_per_cache_write: int = 1


class Opportunity(BaseModel):
    model_config = _FROZEN

    kind: OpportunityKind
    description: str
    models: tuple[str, ...]
    """Models as the provider reported them whose traffic the change touches."""
    alternative_model: str | None = None
    """``model_mix`` only: the cheaper model the traffic moves to."""
    current_usd: PublishedFigure
    potential_usd: PublishedFigure
    savings_usd: PublishedFigure
    assumptions: tuple[str, ...]


class SkippedModel(BaseModel):
    model_config = _FROZEN

    kind: OpportunityKind
    model: str
    reason: str


class Optimisation(BaseModel):
    """Optimisation metrics and opportunities of one period (see the module docstring)."""

    model_config = _FROZEN

    period_start: date | None
    period_end: date | None
    days: int
    """Days the money figures cover (the records' span, or the projected period)."""
    projected_from_days: int | None = None
    """Set by ``monthly_projection``: the days of the figures it scaled."""
    cache_hit_rate: PublishedFigure | None
    batch_share: PublishedFigure | None
    price_ratio: PublishedFigure | None
    """``billed ÷ list`` used to scale the savings; ``None`` without priced usage."""
    opportunities: tuple[Opportunity, ...]
    total_savings_usd: PublishedFigure
    unpriced_models: tuple[str, ...]
    skipped: tuple[SkippedModel, ...]
    price_data_version: str


class ModelAlternative(BaseModel):
    model_config = _FROZEN

    provider: Provider
    model: str = Field(min_length=1)
    """The expensive model's genai-prices id."""
    cheaper: str = Field(min_length=1)


class ModelAlternatives(BaseModel):
    """The versioned model-mix mapping (``data/model_alternatives.json``)."""

    model_config = _FROZEN

    version: str
    description: str = ""
    alternatives: tuple[ModelAlternative, ...]

    def cheaper_than(self, provider: Provider, price_model_id: str) -> str | None:
        """The first alternative listed for the model, if any."""
        return self._cheaper.get((provider, price_model_id))

    @cached_property
    def _cheaper(self) -> dict[tuple[Provider, str], str]:
        index: dict[tuple[Provider, str], str] = {}
        for alt in self.alternatives:
            index.setdefault((alt.provider, alt.model), alt.cheaper)
        return index


@lru_cache(maxsize=1)
def default_alternatives() -> ModelAlternatives:
    text = (
        resources.files("shared.domain.optimisation")
        .joinpath("data", ALTERNATIVES_RESOURCE)
        .read_text(encoding="utf-8")
    )
    return ModelAlternatives.model_validate(json.loads(text))


def compute_optimisation(
    records: Sequence[UsageRecord],
    billed_usd: Decimal,
    list_usd: Decimal,
    *,
    assumptions: Assumptions | None = None,
    alternatives: ModelAlternatives | None = None,
) -> Optimisation:
    """Metrics and opportunities of ``records`` (one day or a month), in the money the enterprise pays.

    Args:
        records: The period's usage records (every provider).
        billed_usd: What the providers billed for the period's token usage.
        list_usd: The list cost of the same usage; ``billed_usd / list_usd`` scales every amount.
        assumptions: Targets and shares; the defaults are documented in the module docstring.
        alternatives: The model-mix mapping; default: the shipped one.
    """
    rho = billed_usd / list_usd if list_usd > 0 else None
    opportunities: list[Opportunity] = []
    skipped: list[SkippedModel] = []
    for change in _changes(records, rho, assumptions, alternatives):
        skipped += [SkippedModel(kind=change.kind, model=m, reason=why) for m, why in change.skipped]
        opportunity = _opportunity(change, rho) if rho is not None else None
        if opportunity is not None:
            opportunities.append(opportunity)
    days = sorted({r.day for r in records})
    return Optimisation(
        period_start=days[0] if days else None,
        period_end=days[-1] if days else None,
        days=(days[-1] - days[0]).days + 1 if days else 0,
        cache_hit_rate=_cache_hit_rate(records),
        batch_share=_batch_share(records),
        price_ratio=_usd(rho) if rho is not None else None,
        opportunities=tuple(opportunities),
        total_savings_usd=sum((o.savings_usd for o in opportunities), Decimal(0)),
        unpriced_models=tuple(sorted({r.model for r in records if r.list_cost_usd is None})),
        skipped=tuple(sorted(set(skipped), key=lambda s: (s.kind.value, s.model))),
        price_data_version=PRICE_DATA_VERSION,
    )


def savings_by_kind(
    records: Sequence[UsageRecord],
    billed_usd: Decimal,
    list_usd: Decimal,
    *,
    assumptions: Assumptions | None = None,
    alternatives: ModelAlternatives | None = None,
) -> dict[OpportunityKind, Decimal]:
    """What ``compute_optimisation`` would give as its opportunities' savings, summed by kind, without the rest of
    its report (run for every provider-day a sync stores)."""
    rho = billed_usd / list_usd if list_usd > 0 else None
    savings: dict[OpportunityKind, Decimal] = {}
    if rho is None:
        return savings
    for change in _changes(records, rho, assumptions, alternatives):
        current, potential = _scaled(change, rho)
        if potential < current:
            savings[change.kind] = savings.get(change.kind, Decimal(0)) + (current - potential)
    return savings


def _changes(
    records: Sequence[UsageRecord],
    rho: Decimal | None,
    assumptions: Assumptions | None,
    alternatives: ModelAlternatives | None,
) -> list[Change]:
    """The period's changes at list price; none without a realised price ratio ``rho`` or priced usage."""
    priced = [r for r in records if r.list_cost_usd is not None and r.list_unit_price is not None]
    if rho is None or not priced:
        return []
    a = assumptions or Assumptions()
    alts = alternatives or default_alternatives()
    cache = cache_change(priced, a.target_cache_hit_rate, a.reads_per_cache_write)
    return [
        *([cache] if cache is not None else []),
        *batch_changes(priced, a.batch_shift_share),
        *model_mix_changes(priced, a.model_mix_share, alts.cheaper_than),
    ]


def _scaled(change: Change, rho: Decimal) -> tuple[Decimal, Decimal]:
    """The change's current and potential money at the realised price ratio, rounded as published."""
    return _usd(change.current_list_usd * rho), _usd(change.potential_list_usd * rho)


def monthly_projection(daily: Optimisation, days_in_period: int) -> Optimisation:
    """Scale ``daily``'s money linearly from the days it covers to ``days_in_period`` days; rates are unchanged.

    Raises:
        ValueError: ``days_in_period`` is not positive, or ``daily`` covers no day.
    """
    if days_in_period < 1 or daily.days < 1:
        raise ValueError("both periods must cover at least one day")
    factor = Decimal(days_in_period) / daily.days
    scaled = tuple(
        o.model_copy(
            update={
                "current_usd": _usd(o.current_usd * factor),
                "potential_usd": _usd(o.potential_usd * factor),
                "savings_usd": _usd(o.current_usd * factor) - _usd(o.potential_usd * factor),
            }
        )
        for o in daily.opportunities
    )
    return daily.model_copy(
        update={
            "days": days_in_period,
            "projected_from_days": daily.days,
            "opportunities": scaled,
            "total_savings_usd": sum((o.savings_usd for o in scaled), Decimal(0)),
        }
    )


def _opportunity(change: Change, rho: Decimal) -> Opportunity | None:
    current, potential = _scaled(change, rho)
    if potential >= current:
        return None
    return Opportunity(
        kind=change.kind,
        description=change.description,
        models=change.models,
        alternative_model=change.alternative_model,
        current_usd=current,
        potential_usd=potential,
        savings_usd=current - potential,
        assumptions=(*change.assumptions, f"amounts scaled by the realised price ratio billed/list = {_usd(rho)}"),
    )


def _cache_hit_rate(records: Iterable[UsageRecord]) -> Decimal | None:
    reads = inputs = 0
    for r in records:
        if r.token_type.is_input:
            inputs += r.quantity
            reads += r.quantity if r.token_type.is_cache_read else 0
    return _rate(Decimal(reads) / inputs) if inputs else None


def _batch_share(records: Iterable[UsageRecord]) -> Decimal | None:
    batch = total = 0
    for r in records:
        total += r.quantity
        batch += r.quantity if r.service_tier is ServiceTier.BATCH else 0
    return _rate(Decimal(batch) / total) if total else None


def _usd(value: Decimal) -> Decimal:
    return value.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)


def _rate(value: Decimal) -> Decimal:
    return value.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)
