"""The price data knows every model the simulator serves, on every meter, tier and band it serves them.

A genai-prices upgrade that drops or renames a model, or a simulator model added without a price, would otherwise
turn part of the demo organisations' usage unpriced and quietly lower their price coverage. The one model the
simulator prices from its own table (an OpenAI fine-tune, ``INTERNAL_PRICES``) is the deliberate unknown model.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from devstack.provider_sim import catalog as sim_catalog
from devstack.provider_sim.aws_data import MODELS as BEDROCK_MODELS
from devstack.provider_sim.azure_data import MODELS as AZURE_MODELS
from devstack.provider_sim.google_data import TEMPLATES as GOOGLE_TEMPLATES
from devstack.provider_sim.models import TOKEN_TYPES
from devstack.provider_sim.pricing import INTERNAL_PRICES
from shared.domain.providers.anthropic import context_band
from shared.domain.usage.pricing import Unpriced, list_unit_price
from shared.domain.usage.records import ContextBand, Provider, ServiceTier, TokenType

DAY = date(2026, 11, 30)
"""A day of the demo window, after every simulated model's release."""

_TIERS = {"standard": ServiceTier.STANDARD, "batch": ServiceTier.BATCH, "flex": ServiceTier.FLEX}

AZURE_UNLISTED = {"gpt-4o", "gpt-4o-mini"}
"""Models the simulator deploys on Azure that genai-prices has no Azure list price for: unpriced on purpose (never at
OpenAI's first-party prices, ADR 23)."""


def _served() -> list[tuple[Provider, str, TokenType, ServiceTier, ContextBand]]:
    meters = []
    for provider in (Provider.OPENAI, Provider.ANTHROPIC):
        org = sim_catalog.catalog(provider.value, "org-demo", 1)
        for stream, template in org.streams:
            if any(stream.model.startswith(internal) for internal in INTERNAL_PRICES):
                continue
            tier = _TIERS.get(stream.price_tier)
            if tier is None:  # priority: OpenAI's is priced where the data has it, Anthropic's is billed elsewhere
                continue
            ratios = dict(zip(TOKEN_TYPES[1:], template.ratios, strict=True))
            served = [TokenType.UNCACHED_INPUT, *(TokenType(t) for t, r in ratios.items() if r)]
            served += [TokenType(t) for t, _ in template.modal]
            band = context_band(stream.context_window)
            meters += [(provider, stream.model, t, tier, band) for t in served]
    for templates in GOOGLE_TEMPLATES.values():
        for t in templates:
            kinds = [TokenType.UNCACHED_INPUT] + ([] if t.embedding else [TokenType.OUTPUT])
            kinds += [TokenType.CACHE_READ] if t.cached else []
            meters += [(Provider.GOOGLE, t.model, k, ServiceTier.STANDARD, ContextBand.STANDARD) for k in kinds]
    # Bedrock in its list-price region (us-east-1); the EU profile the simulator also serves is unpriced on purpose.
    kinds = (TokenType.UNCACHED_INPUT, TokenType.OUTPUT, TokenType.CACHE_READ, TokenType.CACHE_WRITE_5M)
    for model in BEDROCK_MODELS:
        served_kinds = [k for k, price in zip(kinds, model.prices, strict=True) if price]
        meters += [
            (Provider.BEDROCK, model.model_id, k, ServiceTier.STANDARD, ContextBand.STANDARD) for k in served_kinds
        ]
    # Azure OpenAI: Azure Monitor counts prompt and generated tokens (no cached count), at genai-prices' Azure prices.
    for deployment in AZURE_MODELS.values():
        if deployment.name not in AZURE_UNLISTED:
            meters += [
                (Provider.AZURE, deployment.name, k, ServiceTier.STANDARD, ContextBand.STANDARD)
                for k in (TokenType.UNCACHED_INPUT, TokenType.OUTPUT)
            ]
    return sorted(set(meters))


@pytest.mark.parametrize("meter", _served(), ids=lambda m: "/".join(str(v) for v in m))
def test_every_served_meter_has_a_list_price(meter: tuple[Provider, str, TokenType, ServiceTier, ContextBand]) -> None:
    price = list_unit_price(*meter, DAY)
    assert not isinstance(price, Unpriced), f"no list price for {meter}: {price}"
    assert price.usd_per_mtok > Decimal(0)


def test_the_served_meters_cover_every_provider_tier_and_band() -> None:
    served = _served()
    assert {m[0] for m in served} == set(Provider)
    assert {m[3] for m in served} >= {ServiceTier.STANDARD, ServiceTier.BATCH, ServiceTier.FLEX}
    assert ContextBand.LONG in {m[4] for m in served}
    assert {TokenType.AUDIO_INPUT, TokenType.AUDIO_OUTPUT, TokenType.IMAGE_INPUT} <= {m[2] for m in served}


@pytest.mark.parametrize("model", sorted(AZURE_UNLISTED))
def test_azure_models_without_an_azure_price_are_unpriced_not_first_party(model: str) -> None:
    """When the price data gains their Azure prices, move them into the served meters above."""
    price = list_unit_price(
        Provider.AZURE, model, TokenType.UNCACHED_INPUT, ServiceTier.STANDARD, ContextBand.STANDARD, DAY
    )
    assert isinstance(price, Unpriced)
