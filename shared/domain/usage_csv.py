"""A FOCUS-style CSV of daily usage: one row per day, provider, model and token type (``usage.csv``).

What daily snapshots keep per day, provider and model is a ``Tally``: tokens by type (uncached input, cache reads,
cache writes with 5-minute and 1-hour writes together, output) and the model's billed and list cost as a whole.
So token rows carry ``ConsumedQuantity`` only; the model's costs are on one ``model/cost`` row per day, and billed
cost not attributed to any model (tools, storage, cost lines without a model) on an ``(unattributed)/cost`` row, so
``BilledCost`` sums to what the providers billed. Per-token-type costs, service tiers and API keys are not stored.
A provider-day whose bill could not be read (cost source ``estimated``) has no ``BilledCost``: its cost rows carry
``ListCost`` only and say so in ``ChargeDescription``. ``x_PriceCoverage`` (a FOCUS custom column) is, on cost
rows, the provider-day's share of billed token spend that has an exact list price: billed cost of usage without one
is left out of the discount vs list (``shared.domain.reconcile``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from shared.domain.csv_safe import write_csv
from shared.domain.snapshot import UsageSnapshot, coverage
from shared.domain.usage import CostSource
from shared.domain.usage_tally import Tally, plain_decimal

COLUMNS = (
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "ServiceName",
    "ChargeDescription",
    "SkuId",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PricingUnit",
    "ListCost",
    "BilledCost",
    "BillingCurrency",
    "x_PriceCoverage",
)
UNATTRIBUTED = "(unattributed)"
_PROVIDERS = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "bedrock": "Amazon Web Services",
    "azure": "Microsoft",
}
_SERVICES = {
    "openai": "OpenAI API",
    "anthropic": "Claude API",
    "google": "Gemini API",
    "bedrock": "Amazon Bedrock",
    "azure": "Azure OpenAI",
}


def _meters(tally: Tally) -> list[tuple[str, int]]:
    uncached = tally.input_tokens - tally.cached_tokens - tally.cache_write_tokens
    return [
        ("input_uncached", uncached),
        ("input_cache_read", tally.cached_tokens),
        ("input_cache_write", tally.cache_write_tokens),
        ("output", tally.output_tokens),
    ]


def focus_rows(days: Iterable[UsageSnapshot]) -> list[dict[str, str]]:
    """The CSV rows of the snapshots, ordered by day, provider, model."""
    rows: list[dict[str, str]] = []
    for day in sorted(days, key=lambda d: d.date):
        period = {
            "ChargePeriodStart": f"{day.date.isoformat()}T00:00:00Z",
            "ChargePeriodEnd": f"{(day.date + timedelta(days=1)).isoformat()}T00:00:00Z",
            "BillingCurrency": "USD",
        }
        for provider, part in sorted(day.by_provider.items()):
            base = {
                **period,
                "ProviderName": _PROVIDERS.get(provider, provider),
                "ServiceName": _SERVICES.get(provider, provider),
            }
            estimated = part.cost_source is CostSource.ESTIMATED
            share = coverage(part.comparison)
            base["x_PriceCoverage"] = "" if share is None or estimated else plain_decimal(share.normalize())
            for model, tally in sorted(part.by_model.items()):
                for meter, quantity in _meters(tally):
                    if quantity:
                        rows.append(_row(base, model, meter, quantity=quantity) | {"x_PriceCoverage": ""})
                billed = None if estimated else tally.cost_usd
                rows.append(_row(base, model, "cost", list_cost=tally.list_cost_usd, billed=billed))
            rest = part.tally.cost_usd - sum((t.cost_usd for t in part.by_model.values()), Decimal(0))
            if rest:
                rows.append(_row(base, UNATTRIBUTED, "cost", billed=rest))
    return rows


def _row(
    base: dict[str, str],
    model: str,
    meter: str,
    *,
    quantity: int | None = None,
    list_cost: Decimal | None = None,
    billed: Decimal | None = None,
) -> dict[str, str]:
    tokens = quantity is not None
    description = f"{model} {meter.replace('_', ' ')} tokens" if tokens else f"{model} usage cost"
    if not tokens and billed is None:
        description += " (no bill readable: list cost only)"
    return {
        **base,
        "ChargeDescription": description,
        "SkuId": f"{model}/{meter}",
        "ConsumedQuantity": str(quantity) if tokens else "",
        "ConsumedUnit": "Tokens" if tokens else "",
        "PricingUnit": "1M Tokens" if tokens else "",
        "ListCost": "" if list_cost is None else plain_decimal(list_cost),
        "BilledCost": "" if billed is None else plain_decimal(billed),
    }


def to_csv(rows: Iterable[dict[str, str]]) -> str:
    return write_csv(COLUMNS, rows)
