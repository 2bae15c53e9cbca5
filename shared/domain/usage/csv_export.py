"""A FOCUS-style CSV of daily usage: one row per day, provider, model and token type (``usage.csv``).

What daily snapshots keep per day, provider and model is a ``Tally``: tokens by type (uncached input, cache reads,
cache writes with 5-minute and 1-hour writes together, output) and the model's billed and list cost as a whole.
So token rows carry ``ConsumedQuantity`` only; the model's costs are on one ``model/cost`` row per day, and billed
cost not attributed to any model (tools, storage, cost lines without a model) on an ``(unattributed)/cost`` row, so
``BilledCost`` sums to what the providers billed. Per-token-type costs, service tiers and API keys are not stored.
A provider-day whose bill could not be read (cost source ``estimated``) has no ``BilledCost``: its cost rows carry
``ListCost`` only and say so in ``ChargeDescription``. ``x_PriceCoverage`` (a FOCUS custom column) is, on cost
rows, the provider-day's share of billed token spend that has an exact list price: billed cost of usage without one
is left out of the discount vs list (``shared.domain.usage.reconcile``).

ADR 0016: credits and adjustments are on their own ``(credits)/cost`` row (not in ``(unattributed)``); a provider-day
whose usage is in but whose bill is not yet has empty ``BilledCost`` on its cost rows ("cost not billed yet"), and a
day the sync could not pull (missing, or never available) has one ``(missing)`` row per provider with empty costs,
never a $0 figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal

from shared.domain.sync.coverage import DayState
from shared.domain.usage.csv_safe import write_csv
from shared.domain.usage.records import CostSource
from shared.domain.usage.snapshot import UsageSnapshot, coverage
from shared.domain.usage.snapshot_parts import ProviderPart
from shared.domain.usage.tally import Tally, plain_decimal

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
CREDITS = "(credits)"
"""Credits and adjustments (FOCUS ChargeCategory Credit / Adjustment)."""
MISSING = "(missing)"
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


def focus_rows(
    days: Iterable[UsageSnapshot], gaps: Mapping[str, Mapping[date, DayState]] | None = None
) -> list[dict[str, str]]:
    """The CSV rows of the snapshots, ordered by day, provider, model; ``gaps``: per provider, the days the sync
    could not pull (``DayState.MISSING`` / ``NEVER_AVAILABLE``), each shown as one ``(missing)`` row."""
    rows: list[dict[str, str]] = []
    by_date = {d.date: d for d in days}
    lost = {(day, p): state for p, states in (gaps or {}).items() for day, state in states.items()}
    for when in sorted(set(by_date) | {day for day, _ in lost}):
        period = {
            "ChargePeriodStart": f"{when.isoformat()}T00:00:00Z",
            "ChargePeriodEnd": f"{(when + timedelta(days=1)).isoformat()}T00:00:00Z",
            "BillingCurrency": "USD",
        }
        snapshot = by_date.get(when)
        parts = snapshot.by_provider if snapshot else {}
        for provider in sorted(set(parts) | {p for day, p in lost if day == when}):
            base = {
                **period,
                "ProviderName": _PROVIDERS.get(provider, provider),
                "ServiceName": _SERVICES.get(provider, provider),
            }
            if provider in parts:
                rows.extend(_part_rows(base, parts[provider]))
            else:
                rows.append(_missing_row(base, lost[(when, provider)]))
    return rows


def _part_rows(period: dict[str, str], part: ProviderPart) -> list[dict[str, str]]:
    rows = []
    estimated = part.cost_source is CostSource.ESTIMATED
    unbilled = estimated or part.pending_days > 0
    share = coverage(part.comparison)
    base = {**period, "x_PriceCoverage": "" if share is None or estimated else plain_decimal(share.normalize())}
    for model, tally in sorted(part.by_model.items()):
        for meter, quantity in _meters(tally):
            if quantity:
                rows.append(_row(base, model, meter, quantity=quantity) | {"x_PriceCoverage": ""})
        billed = None if unbilled else tally.cost_usd
        row = _row(base, model, "cost", list_cost=tally.list_cost_usd, billed=billed)
        if part.pending_days:
            row["ChargeDescription"] = f"{model} usage cost (cost not billed yet: pending)"
        rows.append(row)
    if part.credits_usd:
        rows.append(_row(base, CREDITS, "cost", billed=part.credits_usd))
    rest = part.tally.cost_usd - part.credits_usd - sum((t.cost_usd for t in part.by_model.values()), Decimal(0))
    if rest:
        rows.append(_row(base, UNATTRIBUTED, "cost", billed=rest))
    return rows


def _missing_row(base: dict[str, str], state: DayState) -> dict[str, str]:
    reason = "never available from the provider" if state is DayState.NEVER_AVAILABLE else "being repaired"
    row = _row(base, MISSING, "cost") | {"x_PriceCoverage": ""}
    row["ChargeDescription"] = f"not synced: the provider's day could not be read ({reason}); not $0"
    return row


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
