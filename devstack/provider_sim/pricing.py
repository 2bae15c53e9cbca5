"""List prices the simulator bills at: genai-prices data at the usage date, per token meter.

Prices are read from the model's price data (never via ``calc_price`` on aggregated totals, which would cross
long-context thresholds); Anthropic's ``200k-1M`` context window uses the long-context tier explicitly.

Service tiers use genai-prices ``price_variants`` (``{"processing": "batch"}``, ``{"service_tier": "flex" |
"priority"}``). A variant's start date records when the data was added, not when the tier's pricing began, so
for earlier days the simulator follows the same documented rule as the platform's pricing: the variant in force;
else the earliest later variant when the model's standard prices are unchanged since; else (batch, flex) half the
standard price. Anthropic's Priority Tier has no per-token list price and is billed outside the cost report.

One model genai-prices does not know, an OpenAI fine-tune of ``gpt-4.1-mini``, is priced from ``INTERNAL_PRICES``
so that its cost still appears in the cost endpoint while a client sees it as unpriced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, TieredPrices

from devstack.provider_sim.models import PriceSource, Provider, TokenType

LONG_CONTEXT = "200k-1M"
_LONG_CONTEXT_START = 200_000

_PRICE_KEYS: dict[TokenType, tuple[str, ...]] = {
    "uncached_input": ("input_mtok",),
    "cache_read": ("cache_read_mtok", "input_mtok"),
    "cache_write_5m": ("cache_write_5m_mtok", "cache_write_mtok", "input_mtok"),
    "cache_write_1h": ("cache_write_1h_mtok", "cache_write_mtok", "input_mtok"),
    "output": ("output_mtok",),
    # Audio and image meters bill at their own prices (OpenAI's model pages list them apart from text).
    "audio_input": ("input_audio_mtok",),
    "audio_cache_read": ("cache_audio_read_mtok",),
    "audio_output": ("output_audio_mtok",),
    "image_input": ("input_image_mtok",),
    "image_cache_read": ("cache_image_read_mtok",),
}

INTERNAL_PRICES: dict[str, dict[TokenType, Decimal]] = {
    # OpenAI's published fine-tuned gpt-4.1-mini inference prices (USD per 1M tokens).
    "ft:gpt-4.1-mini-2025-04-14:": {
        "uncached_input": Decimal("0.80"),
        "cache_read": Decimal("0.20"),
        "output": Decimal("3.20"),
    },
}


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens of one meter on one day, and where the figure came from."""

    usd_per_mtok: Decimal | None
    source: PriceSource


NO_PRICE = Price(None, "none")


@lru_cache(maxsize=16384)
def unit_price(
    provider: Provider, model: str, token_type: TokenType, tier: str, context_window: str | None, day: date
) -> Price:
    """The list price of a meter. ``tier`` is ``standard``, ``batch``, ``flex`` or ``priority``."""
    if provider == "anthropic" and tier == "priority":
        return NO_PRICE
    for prefix, table in INTERNAL_PRICES.items():
        if model.startswith(prefix):
            internal = table.get(token_type, table["uncached_input"])
            return Price(internal / 2 if tier in ("batch", "flex") else internal, "internal")
    info = _model_info(provider, model)
    if info is None:
        raise LookupError(f"no price data for {provider} model {model!r}")
    long_context = context_window == LONG_CONTEXT
    at = datetime(day.year, day.month, day.day, tzinfo=UTC)
    standard = info.get_prices(at)
    base = _meter(standard, token_type, long_context)
    if base is None:
        raise LookupError(f"no {token_type} price for {model!r}")
    if tier == "standard":
        return Price(base, "genai-prices")
    return Price(_tier_price(info, standard, base, token_type, tier, long_context, at), "genai-prices")


def _tier_price(
    info: ModelInfo, standard: ModelPrice, base: Decimal, token_type: TokenType, tier: str, long: bool, at: datetime
) -> Decimal:
    context = {"processing": "batch"} if tier == "batch" else {"service_tier": tier}
    variants = [v for v in info.price_variants or () if all(context.get(k) == w for k, w in v.when.items())]
    if any(v.constraint is None or v.constraint.active(at) for v in variants):
        price = _meter(info.get_prices(at, context), token_type, long)
        if price is not None:
            return price
    starts = sorted(
        datetime(d.year, d.month, d.day, tzinfo=UTC)
        for d in (getattr(v.constraint, "start_date", None) for v in variants)
        if isinstance(d, date)
    )
    later = [s for s in starts if s > at]
    if later and _comparable(info.get_prices(later[0])) == _comparable(standard):
        price = _meter(info.get_prices(later[0], context), token_type, long)
        if price is not None:
            return price
    if tier in ("batch", "flex"):
        return base / 2
    raise LookupError(f"no {tier} price for {info.id!r} on {at.date().isoformat()}")


def _meter(prices: ModelPrice, token_type: TokenType, long_context: bool) -> Decimal | None:
    for key in _PRICE_KEYS[token_type]:
        value = getattr(prices, key, None)
        if value is None:
            continue
        if not isinstance(value, TieredPrices):
            return Decimal(value)
        if not long_context:
            return value.base
        chosen = value.base
        for tier in value.tiers:
            if tier.start <= _LONG_CONTEXT_START:
                chosen = tier.price
        return chosen
    return None


def _comparable(prices: ModelPrice) -> dict[str, str]:
    items: dict[str, Any] = {k: v for k, v in vars(prices).items() if not k.startswith("_") and v is not None}
    return {k: repr(v) for k, v in items.items()}


def _model_info(provider: Provider, model: str) -> ModelInfo | None:
    try:
        _provider, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider, None)
    except LookupError:
        return None
    return info
