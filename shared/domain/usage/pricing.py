"""Public list prices per token meter, from the ``genai-prices`` data bundled with the package.

``list_unit_price`` answers "what did one million tokens of this meter cost at list price on this day?" for a
(provider, model, token type, service tier, context band). It never feeds aggregated usage into
``genai_prices.calc_price``: a day's bucket of 1M input tokens would cross the long-context threshold (e.g. Sonnet
4.5's 200k tier) and price every token at the long-context rate. Instead it reads the model's price data for the
date and resolves tiered prices by the context band the provider reported.

Meter fallbacks follow genai-prices' own decomposition (a more specific meter without a price is charged at its
parent's): cache read → input; cache write 5m/1h → cache write → input.

Service tiers (``batch``, ``flex``, ``priority``) use genai-prices ``price_variants`` selected by the same context
``calc_price`` uses (``{"processing": "batch"}``, ``{"service_tier": "flex"|"priority"}``). Variants carry start
dates that record when the data was added (e.g. 2026-10-14 for batch), not when the tier's pricing began, so for
earlier usage we fall back, in order:

1. the variant in force at the usage date (``PriceBasis.TIER_VARIANT``);
2. the earliest later variant, if the model's standard prices at the usage date equal those at the variant's start
   (the tier prices derive from unchanged standard prices) (``TIER_VARIANT_BACKDATED``);
3. batch and flex only: 50% of the standard price at the usage date, the providers' documented rule (OpenAI Batch
   API and flex processing, Anthropic Message Batches incl. cache reads/writes) (``BATCH_HALF_PRICE``);
4. otherwise unpriced: priority pricing is not a fixed multiple (e.g. gpt-4o 1.7×) and Anthropic's Priority Tier
   is a commitment product without a public per-token list price.

Audio and image tokens are their own meters, priced only from the model's audio/image keys (no fallback to the
text price, which is far lower). Long-context usage is priced only where the meter's price has a long-context tier;
otherwise it is unpriced (``NO_CONTEXT_TIER``), never priced at the base rate.

A model unknown to the price data is unpriced, never $0. A model the data lists with no price at all (OpenAI
moderation, documented free) is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

import genai_prices
from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, PriceVariant, TieredPrices

from shared.domain.usage.records import (
    TOKENS_PER_PRICING_UNIT,
    ContextBand,
    PriceBasis,
    Provider,
    ServiceTier,
    TokenType,
    day_start,
)

PRICE_DATA_VERSION: str = genai_prices.__version__
"""Version of the price data, stored with every snapshot so a figure can be traced to the prices used."""

LONG_CONTEXT_THRESHOLD_TOKENS = 200_000
"""Anthropic's ``context_window = "200k-1M"`` band: requests whose input exceeded 200k tokens."""

BATCH_FALLBACK_FACTOR = Decimal("0.5")

_PRICE_KEYS: dict[TokenType, tuple[str, ...]] = {
    TokenType.UNCACHED_INPUT: ("input_mtok",),
    TokenType.CACHE_READ: ("cache_read_mtok", "input_mtok"),
    TokenType.CACHE_WRITE_5M: ("cache_write_5m_mtok", "cache_write_mtok", "input_mtok"),
    TokenType.CACHE_WRITE_1H: ("cache_write_1h_mtok", "cache_write_mtok", "input_mtok"),
    TokenType.OUTPUT: ("output_mtok",),
    # Audio and image meters are priced only from their own keys: falling back to the text price (genai-prices'
    # decomposition) would price gpt-realtime's $32 audio input at its $4 text rate.
    TokenType.AUDIO_INPUT: ("input_audio_mtok",),
    TokenType.AUDIO_CACHE_READ: ("cache_audio_read_mtok",),
    TokenType.AUDIO_OUTPUT: ("output_audio_mtok",),
    TokenType.IMAGE_INPUT: ("input_image_mtok",),
    TokenType.IMAGE_CACHE_READ: ("cache_image_read_mtok",),
    TokenType.IMAGE_OUTPUT: ("output_image_mtok",),
}

_TIER_CONTEXT: dict[ServiceTier, dict[str, str]] = {
    ServiceTier.BATCH: {"processing": "batch"},
    ServiceTier.FLEX: {"service_tier": "flex"},
    ServiceTier.PRIORITY: {"service_tier": "priority"},
}


class UnpricedReason(StrEnum):
    UNKNOWN_MODEL = "unknown_model"
    NO_PRICE_FOR_METER = "no_price_for_meter"
    NO_TIER_PRICE = "no_tier_price"
    NO_CONTEXT_TIER = "no_context_tier"
    """Long-context usage of a model whose price data has no long-context tier: its base rate would understate it."""
    PROVISIONED_THROUGHPUT = "provisioned_throughput"
    """Capacity bought per hour (Azure provisioned deployments, PTUs): its tokens have no per-token price."""
    NO_DEPLOYMENT_TYPE_PRICE = "no_deployment_type_price"
    """A deployment type (Azure Data Zone or Regional) whose prices the data do not carry."""


@dataclass(frozen=True)
class UnitPrice:
    """A list price: USD per 1,000,000 tokens, and how it was obtained."""

    usd_per_mtok: Decimal
    basis: PriceBasis
    price_model_id: str
    """The genai-prices model the reported model name matched."""

    @property
    def usd_per_token(self) -> Decimal:
        return self.usd_per_mtok / TOKENS_PER_PRICING_UNIT

    def cost(self, tokens: int) -> Decimal:
        """List cost of ``tokens`` tokens in USD (exact, unrounded)."""
        return Decimal(tokens) * self.usd_per_mtok / TOKENS_PER_PRICING_UNIT


@dataclass(frozen=True)
class Unpriced:
    """No list price could be established; the usage is reported as unpriced, never as $0."""

    reason: UnpricedReason


@lru_cache(maxsize=8192)
def list_unit_price(
    provider: Provider,
    model: str,
    token_type: TokenType,
    service_tier: ServiceTier,
    context_band: ContextBand,
    day: date,
) -> UnitPrice | Unpriced:
    """The list price of one token meter on ``day`` (UTC), or why there is none. Pure and cached."""
    info = _find_model(_PRICE_PROVIDER.get(provider, provider.value), model)
    if info is None:
        return Unpriced(UnpricedReason.UNKNOWN_MODEL)
    at = day_start(day)
    standard = info.get_prices(at)
    if not _price_items(standard):
        return UnitPrice(Decimal(0), PriceBasis.FREE, info.id)
    if not _has_band(standard, token_type, context_band):
        return Unpriced(UnpricedReason.NO_CONTEXT_TIER)
    base = _meter_price(standard, token_type, context_band)
    if base is None:
        return Unpriced(UnpricedReason.NO_PRICE_FOR_METER)
    if service_tier is ServiceTier.STANDARD:
        return UnitPrice(base, PriceBasis.STANDARD, info.id)
    return _tier_price(info, standard, base, token_type, service_tier, context_band, at)


def _tier_price(
    info: ModelInfo,
    standard: ModelPrice,
    base: Decimal,
    token_type: TokenType,
    tier: ServiceTier,
    band: ContextBand,
    at: datetime,
) -> UnitPrice | Unpriced:
    context = _TIER_CONTEXT[tier]
    variants = [v for v in info.price_variants or () if all(context.get(k) == w for k, w in v.when.items())]
    if any(v.constraint is None or v.constraint.active(at) for v in variants):
        price = _meter_price(info.get_prices(at, context), token_type, band)
        if price is not None:
            return UnitPrice(price, PriceBasis.TIER_VARIANT, info.id)
    later_starts = sorted(d for d in map(_start_date, variants) if d is not None and day_start(d) > at)
    if later_starts:
        start_at = day_start(later_starts[0])
        if _comparable(info.get_prices(start_at)) == _comparable(standard):
            price = _meter_price(info.get_prices(start_at, context), token_type, band)
            if price is not None:
                return UnitPrice(price, PriceBasis.TIER_VARIANT_BACKDATED, info.id)
    if tier in (ServiceTier.BATCH, ServiceTier.FLEX):
        return UnitPrice(base * BATCH_FALLBACK_FACTOR, PriceBasis.BATCH_HALF_PRICE, info.id)
    return Unpriced(UnpricedReason.NO_TIER_PRICE)


def _meter_price(prices: ModelPrice, token_type: TokenType, band: ContextBand) -> Decimal | None:
    for key in _PRICE_KEYS[token_type]:
        value = getattr(prices, key, None)
        if value is not None:
            return _resolve_band(value, band)
    return None


def _has_band(prices: ModelPrice, token_type: TokenType, band: ContextBand) -> bool:
    """Standard-band usage always has its band; long-context usage only where the meter's price has a tier that
    applies at the long-context threshold."""
    if band is ContextBand.STANDARD:
        return True
    for key in _PRICE_KEYS[token_type]:
        value = getattr(prices, key, None)
        if value is not None:
            return isinstance(value, TieredPrices) and any(
                t.start <= LONG_CONTEXT_THRESHOLD_TOKENS for t in value.tiers
            )
    return True  # no price at all: NO_PRICE_FOR_METER says so


def _resolve_band(value: Decimal | TieredPrices, band: ContextBand) -> Decimal:
    """A flat price, or the tier a request of this band falls in (tiers apply above their ``start``)."""
    if not isinstance(value, TieredPrices):
        return value
    if band is ContextBand.STANDARD:
        return value.base
    applicable = value.base
    for tier in value.tiers:  # sorted ascending by genai-prices
        if tier.start <= LONG_CONTEXT_THRESHOLD_TOKENS:
            applicable = tier.price
    return applicable


def _start_date(variant: PriceVariant) -> date | None:
    constraint = variant.constraint
    return getattr(constraint, "start_date", None) if constraint is not None else None


def _price_items(prices: ModelPrice) -> dict[str, Any]:
    return {k: v for k, v in vars(prices).items() if not k.startswith("_") and v is not None}


def _comparable(prices: ModelPrice) -> dict[str, Any]:
    return {k: repr(v) for k, v in _price_items(prices).items()}


_PRICE_PROVIDER = {Provider.BEDROCK: "aws", Provider.AZURE: "azure"}
"""genai-prices' provider id where it is not ours: its ``aws`` provider is Amazon Bedrock, its ``azure`` provider
Azure OpenAI (whose prices are Azure's own; a model it lacks stays unpriced, ADR 0023)."""
_CHANNELS = frozenset(_PRICE_PROVIDER.values())
"""genai-prices falls back from ``azure`` to ``openai`` (and others) for a model it lacks: for a channel only its own
models' prices count."""
BEDROCK_LIST_PRICE_REGIONS = frozenset({"us-east-1", "us-west-2"})
"""Regions whose Bedrock on-demand prices are the ones genai-prices carries (the US prices of the Bedrock pricing
page); ``global.`` cross-region inference profiles have one worldwide price of their own."""


def priced_where(provider: Provider, region: str | None, model: str) -> bool:
    """Whether list prices are known where the usage ran: Bedrock prices differ by region (ADR 0022), and usage in a
    region whose prices the data do not carry is unpriced rather than priced at another region's (or first-party)
    prices. Every other provider has one price worldwide."""
    if provider is not Provider.BEDROCK:
        return True
    return model.startswith("global.") or region in BEDROCK_LIST_PRICE_REGIONS


def _find_model(provider_id: str, model: str) -> ModelInfo | None:
    try:
        provider, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None
    if provider_id in _CHANNELS and not any(m is info for m in provider.models):
        return None  # found through a fallback provider: a first-party price, never a channel's (ADR 0023)
    return info
