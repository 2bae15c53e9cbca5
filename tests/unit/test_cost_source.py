"""Billed or estimated: a provider whose bill cannot be read (Google without a billing export) shows its usage at
list prices, labelled as an estimate in snapshots, rollups, the usage API and the CSV, and kept out of every figure
that claims to measure what was paid (effective rates, discount vs list, peer benchmarks).

Google's estimated day: gemini-2.5-flash, 2,000,000 input at $0.30 and 400,000 output at $2.50 per 1M (genai-prices
list prices): $0.60 + $1.00 = $1.60. Google's billed day: the same usage billed $1.20 in two lines.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.domain.usage.csv_export import focus_rows
from shared.domain.usage.month import rollup_month
from shared.domain.usage.normalise import DayPart, RawUsage, build_day
from shared.domain.usage.records import ContextBand, CostSource, Provider, ProviderDay, ServiceTier, TokenType
from shared.domain.usage.snapshot import build_snapshot
from shared.domain.usage.snapshot_parts import provider_part
from shared.domain.usage.view import usage_report
from tests.support.usage_days import line, openai_day

D1, D2 = date(2026, 11, 20), date(2026, 11, 21)
G = Provider.GOOGLE
MODEL = "gemini-2.5-flash"


def _usage(day: date) -> DayPart:
    def raw(token_type: TokenType, n: int) -> RawUsage:
        return RawUsage(MODEL, "acme-prod", None, ServiceTier.STANDARD, ContextBand.STANDARD, token_type, n)

    return DayPart(usage=(raw(TokenType.UNCACHED_INPUT, 2_000_000), raw(TokenType.OUTPUT, 400_000)))


def estimated_day(day: date) -> ProviderDay:
    return build_day(G, day, [_usage(day)], cost_source=CostSource.ESTIMATED)


def billed_day(day: date) -> ProviderDay:
    costs = DayPart(
        costs=(
            line(G, day, "0.45", model=MODEL, token_type=TokenType.UNCACHED_INPUT, project="acme-prod"),
            line(G, day, "0.75", model=MODEL, token_type=TokenType.OUTPUT, project="acme-prod"),
        )
    )
    return build_day(G, day, [_usage(day), costs])


def test_an_estimated_day_prices_its_usage_at_list_and_is_not_reconciled() -> None:
    day = estimated_day(D1)
    assert day.cost_source is CostSource.ESTIMATED
    assert day.reconciliation is None  # nothing billed to compare with: no "no billed cost" flag either
    assert day.billed_usd == day.list_usd == Decimal("1.60")
    assert {c.line_item for c in day.cost_lines} == {"estimated at list price"}


def test_an_estimated_part_counts_its_cost_as_an_estimate_and_adds_nothing_to_rates_or_discounts() -> None:
    part = provider_part(estimated_day(D1), "0.2.3")
    assert part.cost_source is CostSource.ESTIMATED
    assert (part.tally.cost_usd, part.tally.estimated_cost_usd, part.tally.list_cost_usd) == (Decimal("1.60"),) * 3
    assert part.by_model[MODEL].estimated_cost_usd == Decimal("1.60")
    assert part.by_project["acme-prod"].estimated_cost_usd == Decimal("1.60")
    assert (part.rate_basis.input_tokens, part.rate_basis.input_cost_usd) == (0, Decimal(0))
    assert (part.comparison.billed_usd, part.comparison.list_usd, part.comparison.flagged_days) == (0, 0, 0)


def test_a_snapshot_says_which_providers_are_estimated_and_its_rates_are_the_billed_ones() -> None:
    openai_only = build_snapshot(D1, {"openai": provider_part(openai_day(D1), "v")}, index=None, retention_months=24)
    both = build_snapshot(
        D1,
        {"openai": provider_part(openai_day(D1), "v"), "google": provider_part(estimated_day(D1), "v")},
        index=None,
        retention_months=24,
    )

    # OpenAI billed $4.30; Google estimated $1.60.
    assert (both.totals.total_cost_usd, both.totals.estimated_cost_usd) == (Decimal("5.90"), Decimal("1.60"))
    assert both.cost_sources == {"google": CostSource.ESTIMATED, "openai": CostSource.BILLED}
    assert both.by_provider["google"].cost_source is CostSource.ESTIMATED
    assert both.rates == openai_only.rates
    assert both.benchmark.discount_vs_list == openai_only.benchmark.discount_vs_list
    assert both.totals.input_tokens == openai_only.totals.input_tokens + 2_000_000  # tokens are all counted
    dumped = both.model_dump(mode="json")  # as stored in Firestore
    assert dumped["by_provider"]["google"]["cost_source"] == "estimated"
    assert Decimal(dumped["totals"]["estimated_cost_usd"]) == Decimal("1.60")  # a decimal string, never a float


def _snapshots() -> list:  # type: ignore[type-arg]
    return [
        build_snapshot(D1, {"google": provider_part(billed_day(D1), "v")}, index=None, retention_months=24),
        build_snapshot(D2, {"google": provider_part(estimated_day(D2), "v")}, index=None, retention_months=24),
    ]


def test_a_month_with_billed_and_estimated_days_is_mixed_and_keeps_the_estimated_amount() -> None:
    month = rollup_month("2026-11", _snapshots(), retention_months=24)
    assert month is not None
    google = month.by_provider["google"]
    assert google.cost_source is CostSource.MIXED
    # $1.20 billed on D1 + $1.60 estimated on D2.
    assert (month.totals.total_cost_usd, month.totals.estimated_cost_usd) == (Decimal("2.80"), Decimal("1.60"))
    assert month.by_day["2026-11-21"].estimated_cost_usd == Decimal("1.60")
    assert month.by_day["2026-11-20"].estimated_cost_usd == Decimal(0)
    # The effective input rate is D1's billed $0.45 over D1's 2M tokens only: $0.225 per 1M.
    assert month.rates.effective_input_rate == Decimal("0.225")


def test_the_usage_api_shows_the_cost_source_per_provider_and_says_so_in_notes() -> None:
    snapshots = _snapshots()
    estimated_only = usage_report(D2, D2, [], snapshots)
    mixed = usage_report(D1, D2, [], snapshots)

    [google] = estimated_only.by_provider
    assert (google.provider, google.cost_source) == ("google", CostSource.ESTIMATED)
    assert estimated_only.totals.estimated_cost_usd == Decimal("1.60")
    assert google.effective_rates.blended is None  # no billed money, no effective rate
    [note] = estimated_only.notes
    assert "1.60 USD" in note
    assert mixed.by_provider[0].cost_source is CostSource.MIXED
    assert "some days" in mixed.notes[0]
    assert usage_report(D2, D2, [], snapshots, model=MODEL).by_provider[0].cost_source is CostSource.ESTIMATED
    billed = usage_report(D1, D1, [], [snapshots[0]])
    assert (billed.by_provider[0].cost_source, billed.notes) == (CostSource.BILLED, [])


def test_the_csv_never_calls_an_estimate_billed() -> None:
    rows = focus_rows(_snapshots())
    costs = {r["ChargePeriodStart"][:10]: r for r in rows if r["SkuId"].endswith("/cost")}
    assert (costs["2026-11-20"]["BilledCost"], costs["2026-11-20"]["ListCost"]) == ("1.20", "1.6")
    assert (costs["2026-11-21"]["BilledCost"], costs["2026-11-21"]["ListCost"]) == ("", "1.6")
    assert "list cost only" in costs["2026-11-21"]["ChargeDescription"]
