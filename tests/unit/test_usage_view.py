"""A date range's usage from rollups and snapshots: figures derived by hand from ``tests.support.usage_days``.

Per day: OpenAI bills $4.30 ($2.40 input side, $1.60 output, $0.30 tools) for 1.4M input / 0.2M output tokens at
list $5.00; Anthropic $10.80 for 2M input / 0.5M output at list $13.50 (split 6:7.5 by list: $4.80 / $6.00), plus
1M Priority Tier input tokens outside the rate basis. Both are billed 20% below list.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.domain.usage.month import UsageMonth, month_key, rollup_month
from shared.domain.usage.snapshot import IndexLevel, UsageSnapshot, build_snapshot
from shared.domain.usage.snapshot_parts import provider_part
from shared.domain.usage.view import check_range, months_of, needs_snapshots, split_range, usage_report
from shared.errors import InvalidInput
from tests.support.random_usage import random_history
from tests.support.usage_days import anthropic_day, openai_day

Q = Decimal("1e-10")
LEVELS = {date(2026, 1, 29): 1, date(2026, 1, 30): 10, date(2026, 1, 31): 10, date(2026, 2, 10): 12}
LEVELS |= {date(2026, 2, 20): 14, date(2026, 3, 1): 16, date(2026, 3, 3): 99}


def snap(day: date) -> UsageSnapshot:
    parts = {p.provider.value: provider_part(p, "0.2.3") for p in (openai_day(day), anthropic_day(day))}
    index = IndexLevel(blended=Decimal(LEVELS[day]), version="2026.1")
    return build_snapshot(day, parts, index=index, retention_months=24)


START, END = date(2026, 1, 30), date(2026, 3, 2)
EDGE_DAYS = [snap(d) for d in (date(2026, 1, 29), date(2026, 1, 30), date(2026, 1, 31), date(2026, 3, 1))]
EDGE_DAYS.append(snap(date(2026, 3, 3)))
FEB = [snap(date(2026, 2, 10)), snap(date(2026, 2, 20))]


def test_a_range_adds_whole_month_rollups_and_edge_days_and_derives_rates_from_the_sums() -> None:
    february = rollup_month("2026-02", FEB, retention_months=24)
    assert february is not None

    report = usage_report(START, END, [february], EDGE_DAYS)

    # five days in range (Jan 30, Jan 31, Feb 10, Feb 20, Mar 1); Jan 29 and Mar 3 lie outside
    assert report.totals.total_cost_usd == Decimal("75.50")  # 5 x (4.30 + 10.80)
    assert report.totals.list_cost_usd == Decimal("92.50")  # 5 x (5.00 + 13.50)
    assert (report.totals.input_tokens, report.totals.output_tokens) == (22_000_000, 3_500_000)
    r_in, r_out = Decimal(36) / Decimal(17), Decimal(38) / Decimal("3.5")  # $36 over 17M, $38 over 3.5M
    assert report.effective_rates.input == r_in.quantize(Q)
    assert report.effective_rates.output == r_out.quantize(Q)
    assert report.effective_rates.blended == (Decimal("0.75") * r_in + Decimal("0.25") * r_out).quantize(Q)
    assert report.benchmark.your_discount == Decimal("0.2")
    assert report.benchmark.stci_frontier_blended == Decimal("12.4")  # (10 + 10 + 12 + 14 + 16) / 5
    assert [e.date.day for e in report.by_day] == [30, 31, 10, 20, 1]
    assert [p.provider for p in report.by_provider] == ["anthropic", "openai"]
    assert [m.key for m in report.by_model] == ["claude-sonnet-4-5", "gpt-4o"]


def test_a_provider_filter_keeps_that_providers_parts_only() -> None:
    report = usage_report(START, END, [], [*EDGE_DAYS, *FEB], provider="anthropic")

    assert report.totals.total_cost_usd == Decimal("54.00")  # 5 x 10.80
    assert report.effective_rates.input == Decimal("2.4")  # $4.80 over 2M
    assert report.effective_rates.output == Decimal("12")  # $6.00 over 0.5M
    assert report.effective_rates.blended == Decimal("4.8")  # 0.75 x 2.4 + 0.25 x 12
    assert all(e.total_cost_usd == Decimal("10.80") for e in report.by_day)
    assert list(report.reconciliation) == ["anthropic"]


def test_a_model_filter_shows_the_models_tokens_and_cost_but_no_rates_it_cannot_derive() -> None:
    report = usage_report(START, END, [], [*EDGE_DAYS, *FEB], model="gpt-4o")

    assert report.totals.total_cost_usd == Decimal("20.00")  # 5 x the $4.00 of lines naming gpt-4o
    assert report.totals.output_tokens == 1_000_000
    assert report.effective_rates.blended is None
    assert report.benchmark.your_discount is None
    assert [m.key for m in report.by_model] == ["gpt-4o"]


def test_an_empty_range_shows_zeros_not_made_up_rates() -> None:
    report = usage_report(START, END, [], [])
    assert report.totals.total_cost_usd == 0
    assert report.effective_rates.blended is None
    assert report.benchmark.stci_frontier_blended is None
    assert report.by_day == []


def test_a_range_splits_into_whole_months_and_partial_edges() -> None:
    assert split_range(date(2025, 1, 15), date(2026, 1, 14)) == (
        [f"2025-{m:02d}" for m in range(2, 13)],
        ["2025-01", "2026-01"],
    )
    assert split_range(date(2025, 1, 1), date(2025, 12, 31)) == ([f"2025-{m:02d}" for m in range(1, 13)], [])


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (date(2026, 3, 2), date(2026, 3, 1), "invalid_date_range"),
        (date(2024, 1, 1), date(2026, 1, 1), "date_range_too_long"),
    ],
)
def test_inverted_and_too_long_ranges_are_refused(start: date, end: date, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_range(start, end)
    assert refused.value.code == code


def test_exactly_24_months_is_accepted() -> None:
    check_range(date(2024, 1, 1), date(2025, 12, 31))


def _rollups(days: list[UsageSnapshot]) -> list[UsageMonth]:
    keys = sorted({month_key(d.date) for d in days})
    return [m for m in (rollup_month(k, days, retention_months=24) for k in keys) if m is not None]


@pytest.mark.parametrize("seed", range(6))
def test_rollups_alone_give_exactly_what_the_daily_snapshots_give(seed: int) -> None:
    days = random_history(seed, date(2025, 1, 1), date(2026, 3, 31))
    rollups = _rollups(days)
    assert all(m.has_daily for m in rollups)
    rng = random.Random(seed)
    with_usage = 0
    for _ in range(12):
        start = date(2025, 1, 1) + timedelta(days=rng.randint(0, 300))
        end = min(start + timedelta(days=rng.randint(0, 365)), date(2026, 3, 31))
        provider = rng.choice([None, None, "openai", "anthropic"])
        model = rng.choice([None, None, None, "gpt-4o", "claude-haiku-4-5", "o3"])
        touched = [m for m in rollups if m.month in months_of(start, end)]

        from_rollups = usage_report(start, end, touched, [], provider=provider, model=model)
        from_days = usage_report(start, end, [], days, provider=provider, model=model)

        assert from_rollups.model_dump_json() == from_days.model_dump_json(), (start, end, provider, model)
        with_usage += from_days.totals.total_cost_usd > 0
    assert with_usage >= 8  # the comparisons are about real figures (a model filter may pick another provider's)


def _with_credits_and_pending(days: list[UsageSnapshot]) -> list[UsageSnapshot]:
    out = []
    for i, snapshot in enumerate(days):
        changes = {"credits_usd": Decimal("-1.25") if i % 3 else Decimal(0), "pending_days": i % 2}
        parts = {name: part.model_copy(update=changes) for name, part in snapshot.by_provider.items()}
        level = snapshot.benchmark.stci_frontier_blended
        index = None if level is None else IndexLevel(blended=level, version=snapshot.index_version or "")
        out.append(
            build_snapshot(snapshot.date, parts, failed=snapshot.failed_providers, index=index, retention_months=24)
        )
    return out


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_provider_filtered_chart_of_whole_months_is_what_its_days_show(provider: str) -> None:
    """Whole months under a provider filter chart each day from the rollup's daily detail: credits, pending cost,
    failures and days without that provider included."""
    days = _with_credits_and_pending(random_history(7, date(2025, 11, 1), date(2026, 1, 31)))
    start, end = date(2025, 11, 1), date(2026, 1, 31)

    from_rollups = usage_report(start, end, _rollups(days), [], provider=provider)
    from_days = usage_report(start, end, [], days, provider=provider)

    assert from_rollups.model_dump_json() == from_days.model_dump_json()
    chart = from_rollups.by_day
    assert any(d.credits_usd for d in chart)
    assert any(d.pending_providers == [provider] for d in chart)
    assert any(d.failed_providers == [provider] for d in chart)
    assert any(d.total_cost_usd == 0 and not d.failed_providers for d in chart)  # a day without the provider


def test_a_rollup_without_daily_detail_serves_whole_months_only() -> None:
    february = rollup_month("2026-02", FEB, retention_months=24)
    assert february is not None
    legacy = february.model_copy(update={"daily": None, "daily_version": None})

    assert usage_report(date(2026, 2, 1), date(2026, 2, 28), [legacy], []).totals.total_cost_usd == Decimal("30.20")
    assert needs_snapshots(legacy, date(2026, 2, 1), date(2026, 2, 28), filtered=True)
    assert needs_snapshots(legacy, date(2026, 2, 2), date(2026, 2, 28), filtered=False)
    assert not needs_snapshots(february, date(2026, 2, 2), date(2026, 2, 28), filtered=True)
    with pytest.raises(ValueError, match="no daily detail"):
        usage_report(date(2026, 2, 15), date(2026, 2, 28), [legacy], [])
