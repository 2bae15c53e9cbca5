"""Optimisation metrics and savings, derived by hand from list prices (provider-apis.md §4.1, USD per 1M tokens).

claude-sonnet-4-5: input 3, cache read 0.30, 5-minute write 3.75, output 15, batch 1.50 / 7.50.
claude-opus-4-5: input 5, output 25. gpt-4o: input 2.50, cache read 1.25 (writes not charged), output 10, batch
1.25 / 5. gpt-4o-mini: input 0.15, output 0.60.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.domain.optimisation.opportunities import (
    Assumptions,
    ModelAlternative,
    ModelAlternatives,
    OpportunityKind,
    Optimisation,
    compute_optimisation,
    default_alternatives,
    monthly_projection,
    savings_by_kind,
)
from shared.domain.usage.pricing import UnitPrice, list_unit_price
from shared.domain.usage.records import ContextBand, Provider, ServiceTier, TokenType, UsageRecord

ANT, OAI = Provider.ANTHROPIC, Provider.OPENAI
IN, READ, WRITE, OUT = TokenType.UNCACHED_INPUT, TokenType.CACHE_READ, TokenType.CACHE_WRITE_5M, TokenType.OUTPUT
STD, BATCH, PRIO = ServiceTier.STANDARD, ServiceTier.BATCH, ServiceTier.PRIORITY
DAY = date(2026, 11, 2)
SONNET = "claude-sonnet-4-5-20250929"
M = 1_000_000


def rec(
    provider: Provider,
    model: str,
    token_type: TokenType,
    tokens: int,
    tier: ServiceTier = STD,
    band: ContextBand = ContextBand.STANDARD,
    day: date = DAY,
) -> UsageRecord:
    price = list_unit_price(provider, model, token_type, tier, band, day)
    unit = price if isinstance(price, UnitPrice) else None
    return UsageRecord(
        provider=provider,
        day=day,
        model=model,
        project_id=None,
        api_key_id=None,
        service_tier=tier,
        context_band=band,
        token_type=token_type,
        quantity=tokens,
        list_unit_price=unit.usd_per_mtok if unit else None,
        list_cost_usd=unit.cost(tokens) if unit else None,
        price_basis=unit.basis if unit else None,
    )


def at_list(
    records: list[UsageRecord],
    assumptions: Assumptions | None = None,
    alternatives: ModelAlternatives | None = None,
) -> Optimisation:
    """Billed = list (rho = 1), so the amounts are the list amounts."""
    total = sum((r.list_cost_usd for r in records if r.list_cost_usd is not None), Decimal(0))
    return compute_optimisation(records, total, total, assumptions=assumptions, alternatives=alternatives)


def only(result: Optimisation, kind: OpportunityKind) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    return [
        (" ".join(o.models), o.current_usd, o.potential_usd, o.savings_usd)
        for o in result.opportunities
        if o.kind is kind
    ]


def test_cache_savings_include_anthropic_cache_writes_and_are_scaled_by_the_realised_price_ratio() -> None:
    records = [rec(ANT, SONNET, IN, 8 * M), rec(ANT, SONNET, OUT, 1 * M)]
    # List 8 × 3 + 1 × 15 = 39; billed 29.25 → rho 0.75. To reach 50%: 4M reads, each first written once: 4M writes,
    # uncached 8M → 0. Input side 24 → 4 × 0.30 + 4 × 3.75 = 16.20 at list; × 0.75 = 18 → 12.15.
    result = compute_optimisation(records, Decimal("29.25"), Decimal("39"))
    assert result.price_ratio == Decimal("0.75")
    assert result.cache_hit_rate == 0
    assert only(result, OpportunityKind.CACHE) == [(SONNET, Decimal(18), Decimal("12.15"), Decimal("5.85"))]


def test_partial_cache_and_a_provider_that_does_not_charge_writes() -> None:
    records = [
        rec(ANT, SONNET, IN, 6 * M),
        rec(ANT, SONNET, READ, 2 * M),
        rec(OAI, "gpt-4o", IN, 10 * M),
    ]
    # Eligible input 18M, reads 2M (11%). Target 9M reads: 7M more, spread 6:10 over uncached → sonnet 2.625M reads
    # + 2.625M writes: 2.625 × (0.30 - 3 + 3.75 - 3) = -5.11875; gpt-4o 4.375M reads (+ free writes):
    # 4.375 × (1.25 - 2.5) = -5.46875. Input list now 6 × 3 + 2 × 0.3 + 10 × 2.5 = 43.6 → 43.6 - 10.5875.
    result = at_list(records)
    assert only(result, OpportunityKind.CACHE) == [
        (f"{SONNET} gpt-4o", Decimal("43.6"), Decimal("33.0125"), Decimal("10.5875"))
    ]
    assert result.cache_hit_rate == Decimal("0.1111")


def test_an_enterprise_already_at_60_percent_cache_gets_no_cache_opportunity() -> None:
    records = [rec(ANT, SONNET, IN, 2 * M), rec(ANT, SONNET, READ, 6 * M), rec(ANT, SONNET, WRITE, 2 * M)]
    result = at_list(records)
    assert result.cache_hit_rate == Decimal("0.6")
    assert only(result, OpportunityKind.CACHE) == []


def test_batch_moves_30_percent_of_standard_traffic_and_leaves_batch_and_priority_alone() -> None:
    records = [
        rec(OAI, "gpt-4o", IN, 10 * M),
        rec(OAI, "gpt-4o", OUT, 2 * M),
        rec(OAI, "gpt-4o", IN, 5 * M, tier=BATCH),
        rec(OAI, "gpt-4o", IN, 1 * M, tier=PRIO),
    ]
    # 30%: 3M in + 0.6M out: 3 × 2.5 + 0.6 × 10 = 13.5 → batch 3 × 1.25 + 0.6 × 5 = 6.75.
    result = at_list(records)
    assert only(result, OpportunityKind.BATCH) == [("gpt-4o", Decimal("13.5"), Decimal("6.75"), Decimal("6.75"))]
    assert result.batch_share == Decimal("0.2778")  # 5M of 18M tokens


def test_model_mix_moves_a_share_to_the_same_providers_cheaper_tier() -> None:
    records = [
        rec(ANT, "claude-opus-4-5-20251101", IN, 1 * M),
        rec(ANT, "claude-opus-4-5-20251101", OUT, 1 * M),
        rec(ANT, "claude-opus-4-5-20251101", IN, 5 * M, band=ContextBand.LONG),
        rec(OAI, "gpt-4o-2024-08-06", IN, 2 * M),
    ]
    # Opus: 0.3M in + 0.3M out: 1.5 + 7.5 = 9 → Sonnet 0.9 + 4.5 = 5.4 (long-context traffic stays).
    # gpt-4o: 0.6M in: 1.5 → gpt-4o-mini 0.09.
    mix = {o.alternative_model: o for o in at_list(records).opportunities if o.kind is OpportunityKind.MODEL_MIX}
    assert (mix["claude-sonnet-4-5"].current_usd, mix["claude-sonnet-4-5"].savings_usd) == (Decimal(9), Decimal("3.6"))
    assert mix["claude-sonnet-4-5"].models == ("claude-opus-4-5-20251101",)
    assert (mix["gpt-4o-mini"].current_usd, mix["gpt-4o-mini"].potential_usd) == (Decimal("1.5"), Decimal("0.09"))

    half = at_list(records, assumptions=Assumptions(model_mix_share=Decimal("0.5")))
    assert [o.savings_usd for o in half.opportunities if o.alternative_model == "gpt-4o-mini"] == [Decimal("2.35")]


def test_unpriced_models_are_listed_and_never_counted() -> None:
    records = [rec(OAI, "gpt-4o", IN, 2 * M), rec(OAI, "acme-llm-9", IN, 50 * M), rec(OAI, "acme-llm-9", OUT, 9 * M)]
    assert records[1].list_cost_usd is None
    alternatives = ModelAlternatives(
        version="t", alternatives=(ModelAlternative(provider=OAI, model="gpt-4o", cheaper="gpt-nonexistent"),)
    )
    result = at_list(records, alternatives=alternatives)
    assert result.unpriced_models == ("acme-llm-9",)
    assert all(o.models == ("gpt-4o",) for o in result.opportunities)
    # Batch touches only gpt-4o's 0.6M input: 1.5 → 0.75.
    assert only(result, OpportunityKind.BATCH) == [("gpt-4o", Decimal("1.5"), Decimal("0.75"), Decimal("0.75"))]
    assert [(s.kind, s.model) for s in result.skipped] == [(OpportunityKind.MODEL_MIX, "gpt-4o")]


def test_no_priced_usage_means_no_opportunities() -> None:
    result = compute_optimisation([rec(OAI, "acme-llm-9", IN, M)], Decimal(3), Decimal(0))
    assert (result.price_ratio, result.opportunities, result.total_savings_usd) == (None, (), Decimal(0))


def test_monthly_projection_scales_the_money_of_a_day() -> None:
    day = compute_optimisation([rec(ANT, SONNET, IN, 8 * M), rec(ANT, SONNET, OUT, M)], Decimal("29.25"), Decimal(39))
    month = monthly_projection(day, 30)
    # Daily: cache 5.85, batch 30% of (24 + 15) × 0.75 halved = 4.3875, mix to Haiku 8.775 × 2/3 = 5.85.
    assert day.total_savings_usd == Decimal("16.0875")
    assert month.total_savings_usd == Decimal("482.625")
    assert (month.days, month.projected_from_days, month.cache_hit_rate) == (30, 1, day.cache_hit_rate)
    with pytest.raises(ValueError, match="at least one day"):
        monthly_projection(day, 0)


def test_every_shipped_alternative_is_a_cheaper_model_of_the_same_provider() -> None:
    for alt in default_alternatives().alternatives:
        prices = {}
        for model in (alt.model, alt.cheaper):
            found = [list_unit_price(alt.provider, model, t, STD, ContextBand.STANDARD, DAY) for t in (IN, OUT)]
            assert all(isinstance(p, UnitPrice) and p.price_model_id == model for p in found), model
            prices[model] = sum(p.usd_per_mtok for p in found if isinstance(p, UnitPrice))
        assert prices[alt.cheaper] < prices[alt.model], alt


def test_the_savings_a_sync_stores_are_the_opportunities_savings_by_kind() -> None:
    # ``savings_by_kind`` runs for every provider-day a sync stores, without the rest of the report.
    sonnet_day = [rec(ANT, SONNET, IN, 8 * M), rec(ANT, SONNET, OUT, M)]
    assert savings_by_kind(sonnet_day, Decimal("29.25"), Decimal(39)) == {
        OpportunityKind.CACHE: Decimal("5.85"),
        OpportunityKind.BATCH: Decimal("4.3875"),
        OpportunityKind.MODEL_MIX: Decimal("5.85"),
    }
    cached = [rec(ANT, SONNET, IN, 2 * M), rec(ANT, SONNET, READ, 6 * M), rec(ANT, SONNET, WRITE, 2 * M)]
    mixed = [
        rec(OAI, "gpt-4o", IN, 10 * M),
        rec(OAI, "gpt-4o", OUT, 2 * M, tier=BATCH),
        rec(OAI, "acme-llm-9", IN, 5 * M),
        rec(ANT, SONNET, OUT, 3 * M, tier=PRIO),
    ]
    for records, billed, list_usd in (
        (sonnet_day, Decimal("29.25"), Decimal(39)),
        (cached, Decimal("11.1"), Decimal("12.3")),
        (mixed, Decimal("70.4"), Decimal("81.2")),
        (mixed, Decimal(5), Decimal(0)),
    ):
        report = compute_optimisation(records, billed, list_usd)
        expected: dict[OpportunityKind, Decimal] = {}
        for o in report.opportunities:
            expected[o.kind] = expected.get(o.kind, Decimal(0)) + o.savings_usd
        assert savings_by_kind(records, billed, list_usd) == expected


def test_a_model_listed_twice_moves_to_its_first_cheaper_tier() -> None:
    alternatives = ModelAlternatives(
        version="t",
        alternatives=(
            ModelAlternative(provider=OAI, model="gpt-4o", cheaper="gpt-4o-mini"),
            ModelAlternative(provider=OAI, model="gpt-4o", cheaper="gpt-nonexistent"),
        ),
    )
    result = at_list([rec(OAI, "gpt-4o", IN, 2 * M)], alternatives=alternatives)
    assert [o.alternative_model for o in result.opportunities if o.kind is OpportunityKind.MODEL_MIX] == ["gpt-4o-mini"]
    assert alternatives.cheaper_than(ANT, "gpt-4o") is None
