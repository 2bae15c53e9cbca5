"""Billed vs list per provider-day: plausible discounts pass, everything else is flagged with a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.domain.usage.normalise import DayPart, RawUsage, build_day
from shared.domain.usage.records import (
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


def test_billed_cost_without_any_usage_is_flagged() -> None:
    day = day_with(Provider.OPENAI, [("3", CostKind.TOKENS)], [])
    recon = day.reconciliation
    assert recon is not None
    assert (recon.ratio, recon.flagged, recon.reasons) == (None, True, (R.BILLED_WITHOUT_PRICED_USAGE,))


def test_unpriced_usage_whose_bill_cannot_be_told_apart_leaves_the_whole_day_out() -> None:
    # The lines name no model, so the $3 cannot be split between gpt-4o and the private model: nothing compares.
    usage = [gpt4o_input(1_000_000), gpt4o_input(1000, model="acme-private-model")]
    day = day_with(Provider.OPENAI, [("3", CostKind.TOKENS)], usage)
    recon = day.reconciliation
    assert recon is not None
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd) == (0, 0, Decimal(3))
    assert (recon.ratio, recon.price_coverage, recon.flagged, recon.reasons) == (None, 0, False, (R.UNPRICED_USAGE,))
    assert day.unpriced_models == ("acme-private-model",)


def model_line(
    amount: str, model: str, token_type: TokenType | None = TokenType.UNCACHED_INPUT, day: date = DAY
) -> CostLine:
    return CostLine(
        provider=Provider.OPENAI,
        day=day,
        amount_usd=Decimal(amount),
        kind=CostKind.TOKENS,
        model=model,
        token_type=token_type,
        service_tier=ServiceTier.STANDARD,
    )


def test_an_unknown_models_bill_leaves_both_sides_and_the_discount_shows_as_itself() -> None:
    """Review finding 1: gpt-4o at 30 % off plus $10 of a private model showed a 1.4 % discount."""
    usage = (gpt4o_input(1_000_000), gpt4o_input(5_000_000, model="acme-private-model"))
    lines = (model_line("1.75", "gpt-4o"), model_line("10", "acme-private-model"))
    day = build_day(Provider.OPENAI, DAY, [DayPart(usage=usage, costs=lines)])
    recon = day.reconciliation
    assert recon is not None
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd) == (Decimal("1.75"), Decimal("2.5"), 10)
    assert recon.ratio == Decimal("0.7")  # the 30 % discount, as itself
    assert recon.price_coverage == Decimal("1.75") / Decimal("11.75")
    assert (recon.flagged, recon.reasons) == (False, (R.UNPRICED_USAGE,))


def gpt4o_audio(tokens: int) -> RawUsage:
    # genai-prices has no audio price for gpt-4o: its audio input is unpriced, never priced at the text rate.
    return RawUsage("gpt-4o", None, None, ServiceTier.STANDARD, ContextBand.STANDARD, TokenType.AUDIO_INPUT, tokens)


def test_an_unpriced_meter_of_a_known_model_leaves_alone_when_the_lines_name_their_meters() -> None:
    lines = (
        model_line("2", "gpt-4o"),  # 1M standard input, $2.50 list, 20 % off
        model_line("32", "gpt-4o", token_type=TokenType.AUDIO_INPUT),
    )
    day = build_day(Provider.OPENAI, DAY, [DayPart(usage=(gpt4o_input(10**6), gpt4o_audio(10**6)), costs=lines)])
    recon = day.reconciliation
    assert recon is not None
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd) == (2, Decimal("2.5"), 32)


def test_a_model_whose_lines_do_not_name_their_meter_leaves_whole() -> None:
    lines = (model_line("34", "gpt-4o", token_type=None), model_line("0.10", "gpt-4o-mini"))
    usage = (gpt4o_input(10**6), gpt4o_audio(10**6), gpt4o_input(10**6, model="gpt-4o-mini"))
    day = build_day(Provider.OPENAI, DAY, [DayPart(usage=usage, costs=lines)])
    recon = day.reconciliation
    assert recon is not None
    # Only gpt-4o-mini compares: 1M input at $0.15 list, billed $0.10.
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd) == (Decimal("0.10"), Decimal("0.15"), 34)


def test_google_monitoring_counts_never_enter_the_comparison() -> None:
    """Review finding 4: Monitoring's input count includes cache hits, so a list payer with 70 % cache hits showed a
    35 % discount; without the billing export's own quantities (``test_meters``) Google's billed tokens are unpriced
    (coverage 0) and no ratio is shown."""
    usage = RawUsage(
        "gemini-2.5-pro", None, None, ServiceTier.STANDARD, ContextBand.STANDARD, TokenType.UNCACHED_INPUT, 10**6
    )
    line = CostLine(provider=Provider.GOOGLE, day=DAY, amount_usd=Decimal("0.48"), kind=CostKind.TOKENS)
    day = build_day(Provider.GOOGLE, DAY, [DayPart(usage=(usage,), costs=(line,))])
    recon = day.reconciliation
    assert recon is not None
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd, recon.ratio) == (0, 0, Decimal("0.48"), None)
    assert (recon.price_coverage, recon.flagged, recon.reasons) == (0, False, (R.LIST_QUANTITIES_INEXACT,))


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
