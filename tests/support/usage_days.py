"""Hand-built provider days for snapshot tests: records priced at prices the test states, cost lines as billed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from shared.domain.usage.reconcile import reconcile
from shared.domain.usage.records import (
    ContextBand,
    CostKind,
    CostLine,
    DayStatus,
    MeterUsage,
    PriceBasis,
    Provider,
    ProviderDay,
    ServiceTier,
    TokenType,
    UsageRecord,
)

MTOK = Decimal(1_000_000)


def record(
    provider: Provider,
    day: date,
    model: str,
    token_type: TokenType,
    quantity: int,
    price_per_mtok: str | None,
    *,
    project: str | None = "proj_a",
    tier: ServiceTier = ServiceTier.STANDARD,
) -> UsageRecord:
    price = Decimal(price_per_mtok) if price_per_mtok is not None else None
    return UsageRecord(
        provider=provider,
        day=day,
        model=model,
        project_id=project,
        api_key_id="key_1",
        service_tier=tier,
        context_band=ContextBand.STANDARD,
        token_type=token_type,
        quantity=quantity,
        list_unit_price=price,
        list_cost_usd=None if price is None else Decimal(quantity) * price / MTOK,
        price_basis=None if price is None else PriceBasis.STANDARD,
    )


def line(
    provider: Provider,
    day: date,
    amount: str,
    *,
    model: str | None = None,
    token_type: TokenType | None = None,
    kind: CostKind = CostKind.TOKENS,
    project: str | None = "proj_a",
) -> CostLine:
    return CostLine(
        provider=provider,
        day=day,
        amount_usd=Decimal(amount),
        kind=kind,
        model=model,
        token_type=token_type,
        project_id=project,
    )


def requests(provider: Provider, day: date, model: str, n: int, project: str | None = "proj_a") -> MeterUsage:
    return MeterUsage(
        provider=provider,
        day=day,
        source="completions",
        meter="num_model_requests",
        quantity=n,
        model=model,
        project_id=project,
    )


def provider_day(
    provider: Provider,
    day: date,
    records: Sequence[UsageRecord],
    lines: Sequence[CostLine],
    meters: Sequence[MeterUsage] = (),
) -> ProviderDay:
    return ProviderDay(
        provider=provider,
        day=day,
        records=tuple(records),
        cost_lines=tuple(lines),
        meters=tuple(meters),
        reconciliation=reconcile(provider, records, lines),
    )


def failed_day(provider: Provider, day: date) -> ProviderDay:
    return ProviderDay(
        provider=provider,
        day=day,
        status=DayStatus.FAILED,
        error_code="provider_malformed_response",
        error_message="bucket malformed",
    )


def openai_day(day: date, scale: int = 1) -> ProviderDay:
    """gpt-4o at list $2.50 in / $1.25 cached / $10 out per 1M, billed 20% below list, plus $0.30 of web search.

    Per ``scale``: 1,000,000 uncached input ($2.50 list), 400,000 cache reads ($0.50), 200,000 output ($2.00):
    list $5.00, billed tokens $2.00 + $0.40 + $1.60 = $4.00, total billed $4.30, 120 requests.
    """
    p = Provider.OPENAI
    return provider_day(
        p,
        day,
        [
            record(p, day, "gpt-4o", TokenType.UNCACHED_INPUT, 1_000_000 * scale, "2.50"),
            record(p, day, "gpt-4o", TokenType.CACHE_READ, 400_000 * scale, "1.25"),
            record(p, day, "gpt-4o", TokenType.OUTPUT, 200_000 * scale, "10"),
        ],
        [
            line(p, day, str(Decimal("2.00") * scale), model="gpt-4o", token_type=TokenType.UNCACHED_INPUT),
            line(p, day, str(Decimal("0.40") * scale), model="gpt-4o", token_type=TokenType.CACHE_READ),
            line(p, day, str(Decimal("1.60") * scale), model="gpt-4o", token_type=TokenType.OUTPUT),
            line(p, day, str(Decimal("0.30") * scale), kind=CostKind.OTHER),
        ],
        [requests(p, day, "gpt-4o", 120 * scale)],
    )


def anthropic_day(day: date) -> ProviderDay:
    """claude-sonnet-4-5 at list $3 in / $15 out per 1M: 2,000,000 input ($6) + 500,000 output ($7.50) = $13.50.

    Billed in ONE cost line without a token type: $10.80 (20% below list). Plus 1,000,000 Priority Tier input
    tokens, unpriced and never in the cost report. Workspace: the default one.
    """
    p = Provider.ANTHROPIC
    model = "claude-sonnet-4-5"
    return provider_day(
        p,
        day,
        [
            record(p, day, model, TokenType.UNCACHED_INPUT, 2_000_000, "3", project=None),
            record(p, day, model, TokenType.OUTPUT, 500_000, "15", project=None),
            record(p, day, model, TokenType.UNCACHED_INPUT, 1_000_000, None, project=None, tier=ServiceTier.PRIORITY),
        ],
        [line(p, day, "10.80", model=model, project=None)],
    )
