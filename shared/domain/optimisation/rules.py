"""The three what-if computations behind ``shared.domain.optimisation.opportunities``, at list price.

Each returns a ``Change``: the list cost of the traffic it touches now and after the change, plus the models it
had to leave out. The assumptions are documented in ``shared.domain.optimisation.opportunities``; scaling to billed
money happens there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from shared.domain.usage.pricing import UnitPrice, list_unit_price
from shared.domain.usage.records import (
    TOKENS_PER_PRICING_UNIT,
    ContextBand,
    Provider,
    ServiceTier,
    TokenType,
    UsageRecord,
)

CheaperThan = Callable[[Provider, str], str | None]
"""(provider, genai-prices model id) → the cheaper model's id, or ``None``."""

_GroupKey = tuple[Provider, str, ServiceTier, ContextBand, date]


class OpportunityKind(StrEnum):
    CACHE = "cache"
    BATCH = "batch"
    MODEL_MIX = "model_mix"


@dataclass(frozen=True)
class Change:
    kind: OpportunityKind
    description: str
    models: tuple[str, ...]
    current_list_usd: Decimal
    potential_list_usd: Decimal
    assumptions: tuple[str, ...]
    alternative_model: str | None = None
    skipped: tuple[tuple[str, str], ...] = ()
    """(model, reason) pairs left out of the change."""


@dataclass
class _InputGroup:
    uncached: int = 0
    reads: int = 0
    inputs: int = 0
    list_usd: Decimal = Decimal(0)


@dataclass
class _Accumulator:
    current: Decimal = Decimal(0)
    potential: Decimal = Decimal(0)
    models: set[str] = field(default_factory=set)
    skipped: set[tuple[str, str]] = field(default_factory=set)


def per_mtok_cost(tokens: Decimal, usd_per_mtok: Decimal) -> Decimal:
    """USD for ``tokens`` (fractional for shares of traffic) at ``usd_per_mtok``, unrounded."""
    return tokens * usd_per_mtok / TOKENS_PER_PRICING_UNIT


def cache_change(priced: Sequence[UsageRecord], target: Decimal, reads_per_write: int) -> Change | None:
    """Raise the cache hit rate of the models with cache pricing to ``target``; ``None`` when already there."""
    groups: dict[_GroupKey, _InputGroup] = {}
    for r in priced:
        if r.token_type.is_input:
            g = groups.setdefault((r.provider, r.model, r.service_tier, r.context_band, r.day), _InputGroup())
            g.inputs += r.quantity
            g.uncached += r.quantity if r.token_type is TokenType.UNCACHED_INPUT else 0
            g.reads += r.quantity if r.token_type is TokenType.CACHE_READ else 0
            g.list_usd += _own_cost(r)
    eligible = [(key, g, prices) for key, g in groups.items() if (prices := _cache_prices(key)) is not None]
    inputs = sum(g.inputs for _, g, _ in eligible)
    reads = sum(g.reads for _, g, _ in eligible)
    uncached = sum(g.uncached for _, g, _ in eligible)
    if not inputs or not uncached or Decimal(reads) / inputs >= target:
        return None
    k = Decimal(reads_per_write)
    # Reads and the writes that precede them both come out of uncached input.
    shift = min(target * inputs - reads, uncached * k / (k + 1))
    delta = Decimal(0)
    models: set[str] = set()
    for key, g, (p_in, p_read, p_write) in eligible:
        if g.uncached:
            moved = shift * g.uncached / uncached
            delta += per_mtok_cost(moved, p_read - p_in) + per_mtok_cost(moved / k, p_write - p_in)
            models.add(key[1])
    current = sum((g.list_usd for _, g, _ in eligible), Decimal(0))
    before, after = Decimal(reads) / inputs, (reads + shift) / inputs
    return Change(
        kind=OpportunityKind.CACHE,
        description=f"Raise the prompt-cache hit rate of models with cache pricing from {before:.0%} to {after:.0%}",
        models=tuple(sorted(models)),
        current_list_usd=current,
        potential_list_usd=current + delta,
        assumptions=(
            f"target cache hit rate {target:.0%}, reached by caching uncached input of models with cache pricing",
            f"each newly cached token is written once at the 5-minute cache-write price and read {reads_per_write}x",
            "a cache write costs nothing extra where the provider does not charge writes; storage fees not modelled",
        ),
    )


def batch_changes(priced: Sequence[UsageRecord], share: Decimal) -> list[Change]:
    """Move ``share`` of every model's non-batch, non-priority traffic to its batch price."""
    acc = _Accumulator()
    for r in priced:
        if r.service_tier in (ServiceTier.BATCH, ServiceTier.PRIORITY):
            continue
        batch = list_unit_price(r.provider, r.model, r.token_type, ServiceTier.BATCH, r.context_band, r.day)
        if not isinstance(batch, UnitPrice):
            acc.skipped.add((r.model, "no batch list price"))
            continue
        moved = Decimal(r.quantity) * share
        acc.current += per_mtok_cost(moved, _own_price(r))
        acc.potential += per_mtok_cost(moved, batch.usd_per_mtok)
        acc.models.add(r.model)
    return [
        Change(
            kind=OpportunityKind.BATCH,
            description=f"Move {share:.0%} of non-batch, non-priority traffic to the batch API",
            models=tuple(sorted(acc.models)),
            current_list_usd=acc.current,
            potential_list_usd=acc.potential,
            assumptions=(
                f"{share:.0%} of standard and flex traffic can wait for batch processing (up to 24 h)",
                "batch prices from the price data's batch variants, else the providers' documented 50% rule",
            ),
            skipped=tuple(sorted(acc.skipped)),
        )
    ]


def model_mix_changes(priced: Sequence[UsageRecord], share: Decimal, cheaper_than: CheaperThan) -> list[Change]:
    """For each model with a cheaper same-provider tier, move ``share`` of its base-context traffic there."""
    pairs: dict[tuple[Provider, str, str], _Accumulator] = {}
    for r in priced:
        if r.context_band is ContextBand.LONG:
            continue
        own = list_unit_price(r.provider, r.model, r.token_type, r.service_tier, r.context_band, r.day)
        target = cheaper_than(r.provider, own.price_model_id) if isinstance(own, UnitPrice) else None
        if target is None or not isinstance(own, UnitPrice):
            continue
        acc = pairs.setdefault((r.provider, own.price_model_id, target), _Accumulator())
        alt = list_unit_price(r.provider, target, r.token_type, r.service_tier, r.context_band, r.day)
        if not isinstance(alt, UnitPrice):
            acc.skipped.add((r.model, f"no list price for {target} ({r.service_tier.value}, {r.token_type.value})"))
            continue
        moved = Decimal(r.quantity) * share
        acc.current += per_mtok_cost(moved, _own_price(r))
        acc.potential += per_mtok_cost(moved, alt.usd_per_mtok)
        acc.models.add(r.model)
    return [
        Change(
            kind=OpportunityKind.MODEL_MIX,
            description=f"Move {share:.0%} of {source} traffic to {target}",
            models=tuple(sorted(acc.models)),
            alternative_model=target,
            current_list_usd=acc.current,
            potential_list_usd=acc.potential,
            assumptions=(
                f"{share:.0%} of {source}'s base-context traffic can run on {target} with the same token counts",
                "long-context traffic stays; whether the cheaper model's quality suffices is the enterprise's call",
            ),
            skipped=tuple(sorted(acc.skipped)),
        )
        for (_provider, source, target), acc in sorted(pairs.items(), key=lambda item: item[0][1:])
    ]


def _cache_prices(key: _GroupKey) -> tuple[Decimal, Decimal, Decimal] | None:
    """(input, cache read, 5-minute cache write) prices, or ``None`` when the model has no cache pricing."""
    provider, model, tier, band, day = key
    found = [
        list_unit_price(provider, model, t, tier, band, day)
        for t in (TokenType.UNCACHED_INPUT, TokenType.CACHE_READ, TokenType.CACHE_WRITE_5M)
    ]
    p_in, p_read, p_write = found
    if not (isinstance(p_in, UnitPrice) and isinstance(p_read, UnitPrice) and isinstance(p_write, UnitPrice)):
        return None
    # The price data prices a cache read at the input price when the model has no cache pricing.
    if p_read.usd_per_mtok >= p_in.usd_per_mtok:
        return None
    return p_in.usd_per_mtok, p_read.usd_per_mtok, p_write.usd_per_mtok


def _own_price(record: UsageRecord) -> Decimal:
    assert record.list_unit_price is not None
    return record.list_unit_price


def _own_cost(record: UsageRecord) -> Decimal:
    assert record.list_cost_usd is not None
    return record.list_cost_usd
