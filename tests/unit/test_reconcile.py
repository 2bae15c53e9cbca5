"""Billed vs list per provider-day: plausible discounts pass, everything else is flagged with a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.domain.normalise import DayPart, RawUsage, build_day
from shared.domain.usage import (
    ContextBand,
    CostKind,
    CostLine,
    Provider,
    ProviderDay,
    ReconciliationReason,
    ServiceTier,
    TokenType,
)

DAY = date(2026, 11, 2)
R = ReconciliationReason


def day_with(provider: Provider, billed: list[tuple[str, CostKind]], usage: list[RawUsage]) -> ProviderDay:
    costs = tuple(CostLine(provider=provider, day=DAY, amount_usd=Decimal(a), kind=k) for a, k in billed)
    return build_day(provider, DAY, [DayPart(usage=tuple(usage), costs=costs)])


def gpt4o_input(tokens: int, tier: ServiceTier = ServiceTier.STANDARD, model: str = "gpt-4o") -> RawUsage:
    return RawUsage(model, None, None, tier, ContextBand.STANDARD, TokenType.UNCACHED_INPUT, tokens)


# 1M gpt-4o input tokens list at $2.50 (provider-apis.md §4.1).
@pytest.mark.parametrize(
    ("billed", "flagged", "reasons"),
    [
        ("2.50", False, ()),  # ratio 1.00: list price paid
        ("1.75", False, ()),  # ratio 0.70: a 30% enterprise discount
        ("2.55", False, ()),  # ratio 1.02: within rounding headroom
        ("2.60", True, (R.BILLED_ABOVE_LIST,)),  # ratio 1.04: no discount explains paying more than list
        ("250", True, (R.BILLED_ABOVE_LIST,)),  # 100×: e.g. cents read as dollars
        ("0.70", True, (R.RATIO_BELOW_FLOOR,)),  # ratio 0.28: missing cost lines or usage priced too high
        ("0", True, (R.NO_BILLED_COST,)),  # cost data not there (yet)
    ],
)
def test_ratio_outside_what_discounts_explain_is_flagged(
    billed: str, flagged: bool, reasons: tuple[ReconciliationReason, ...]
) -> None:
    day = day_with(Provider.OPENAI, [(billed, CostKind.TOKENS)], [gpt4o_input(1_000_000)])
    recon = day.reconciliation
    assert recon is not None
    assert (recon.list_usd, recon.ratio, recon.flagged, recon.reasons) == (
        Decimal("2.5"),
        Decimal(billed) / Decimal("2.5"),
        flagged,
        reasons,
    )


def test_non_token_costs_are_left_out_but_unclassified_ones_are_not() -> None:
    # $2.50 tokens + $40 of web search (other) → compared 2.50 vs 2.50; an unclassified $1 line joins tokens.
    day = day_with(
        Provider.OPENAI,
        [("2.50", CostKind.TOKENS), ("40", CostKind.OTHER), ("1", CostKind.UNKNOWN)],
        [gpt4o_input(1_000_000)],
    )
    assert day.billed_usd == Decimal("43.50")
    assert day.reconciliation is not None
    assert day.reconciliation.billed_usd == Decimal("3.50")
    assert day.reconciliation.reasons == (R.BILLED_ABOVE_LIST,)


def test_billed_cost_without_priced_usage_is_flagged_and_unpriced_usage_named() -> None:
    day = day_with(Provider.OPENAI, [("3", CostKind.TOKENS)], [gpt4o_input(1000, model="acme-private-model")])
    recon = day.reconciliation
    assert recon is not None
    assert (recon.ratio, recon.flagged) == (None, True)
    assert recon.reasons == (R.UNPRICED_USAGE, R.BILLED_WITHOUT_PRICED_USAGE)
    assert day.unpriced_models == ("acme-private-model",)


def test_sub_cent_gaps_are_not_findings() -> None:
    # 1000 tokens × $2.50/M = $0.0025 list, nothing billed: a rounding-sized gap, not a flag.
    day = day_with(Provider.OPENAI, [], [gpt4o_input(1000)])
    assert day.reconciliation is not None
    assert (day.reconciliation.ratio, day.reconciliation.flagged) == (Decimal(0), False)


def test_anthropic_priority_usage_is_not_expected_in_the_cost_report() -> None:
    sonnet = "claude-sonnet-4-5"
    priority = RawUsage(sonnet, None, None, ServiceTier.PRIORITY, ContextBand.STANDARD, TokenType.OUTPUT, 10**6)
    standard = RawUsage(sonnet, None, None, ServiceTier.STANDARD, ContextBand.STANDARD, TokenType.OUTPUT, 10**6)
    # 1M standard output = $15 list; billed $12 (20% off). Priority usage is billed elsewhere: no unpriced flag.
    day = day_with(Provider.ANTHROPIC, [("12", CostKind.TOKENS)], [priority, standard])
    recon = day.reconciliation
    assert recon is not None
    assert (recon.list_usd, recon.ratio, recon.flagged, recon.reasons) == (
        Decimal("15"),
        Decimal("0.8"),
        False,
        (),
    )
