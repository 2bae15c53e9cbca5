"""Price coverage travels with the discount: snapshot, monthly rollup, usage API, CSV, report and benchmark figures.

The day: gpt-4o 1M input tokens at $2.50 list billed $2.00 (20 % off), plus a private model billed $0.50 that has no
public list price. The discount is 20 % over the priced $2.00, which is 80 % of the $2.50 of billed token spend.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.domain.reports.monthly import market
from shared.domain.usage.csv_export import focus_rows
from shared.domain.usage.month import rollup_month
from shared.domain.usage.normalise import DayPart, RawUsage, build_day
from shared.domain.usage.records import ContextBand, Provider, ProviderDay, ServiceTier, TokenType
from shared.domain.usage.snapshot import build_snapshot
from shared.domain.usage.snapshot_parts import provider_part
from shared.domain.usage.view import usage_report
from shared.reports.render import discount_note
from shared.services.peers.aggregate_benchmarks import usage_figures
from tests.support.usage_days import line

DAY = date(2026, 11, 20)
OPENAI = Provider.OPENAI


def _raw(model: str, n: int) -> RawUsage:
    return RawUsage(model, "proj_a", None, ServiceTier.STANDARD, ContextBand.STANDARD, TokenType.UNCACHED_INPUT, n)


def mixed_day() -> ProviderDay:
    usage = (_raw("gpt-4o", 1_000_000), _raw("acme-private-model", 1_000_000))
    costs = (
        line(OPENAI, DAY, "2.00", model="gpt-4o", token_type=TokenType.UNCACHED_INPUT),
        line(OPENAI, DAY, "0.50", model="acme-private-model", token_type=TokenType.UNCACHED_INPUT),
    )
    return build_day(OPENAI, DAY, [DayPart(usage=usage, costs=costs)])


def snapshot():  # type: ignore[no-untyped-def]
    return build_snapshot(DAY, {"openai": provider_part(mixed_day(), "v")}, index=None, retention_months=24)


def test_the_usage_api_shows_the_discount_and_the_share_of_spend_it_speaks_for() -> None:
    report = usage_report(DAY, DAY, [], [snapshot()])
    assert (report.benchmark.your_discount, report.benchmark.price_coverage) == (Decimal("0.2"), Decimal("0.8"))
    [openai] = report.by_provider
    assert (openai.your_discount, openai.price_coverage) == (Decimal("0.2"), Decimal("0.8"))
    recon = report.reconciliation["openai"]
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd) == (2, Decimal("2.5"), Decimal("0.5"))
    assert report.unpriced_models == ["acme-private-model"]


def test_the_monthly_rollup_keeps_the_unpriced_spend_out_of_both_sides() -> None:
    month = rollup_month("2026-11", [snapshot()], retention_months=24)
    assert month is not None
    assert (month.benchmark.discount_vs_list, month.benchmark.price_coverage) == (Decimal("0.2"), Decimal("0.8"))
    figures = usage_figures(month.by_provider["openai"])
    assert (figures.billed_usd, figures.list_usd, figures.unpriced_billed_usd) == (2, Decimal("2.5"), Decimal("0.5"))
    assert figures.price_coverage == Decimal("0.8")


def test_the_csv_carries_the_coverage_on_cost_rows() -> None:
    rows = focus_rows([snapshot()])
    costs = {r["SkuId"]: r["x_PriceCoverage"] for r in rows if r["SkuId"].endswith("/cost")}
    assert costs == {"gpt-4o/cost": "0.8", "acme-private-model/cost": "0.8"}
    assert {r["x_PriceCoverage"] for r in rows if not r["SkuId"].endswith("/cost")} == {""}


def test_the_report_says_how_much_of_the_spend_the_discount_covers() -> None:
    figures = market(usage_report(DAY, DAY, [], [snapshot()]))
    assert (figures.realized_discount_vs_list, figures.price_coverage) == (Decimal("0.2"), Decimal("0.8"))
    assert discount_note(figures.realized_discount_vs_list, figures.price_coverage) == (
        "on your model mix, 80 % of billed spend priced"
    )
    assert discount_note(Decimal("0.2"), Decimal(1)) == "on your model mix"
