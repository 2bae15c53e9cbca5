"""A rollup's per-day detail: exact round trip, a layout that follows the summed models, and its size at worst."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.adapters.firestore_snapshots import stored
from shared.domain.usage.month import MAX_ROLLUP_BYTES, UsageMonth, month_snapshots, rollup_month
from shared.domain.usage.records import CostSource
from shared.domain.usage.rollup_days import COLUMNS, RolledDay, decode_day, encode_day
from shared.domain.usage.snapshot_parts import ProviderPart
from shared.domain.usage.tally import Comparison, Mix, RateBasis, Tally
from tests.support.firestore_size import MAX_DOCUMENT_BYTES, document_size
from tests.support.random_usage import large_month, random_history

MONTH_PATH = "enterprises/ent_0123456789abcdef/usage_months/2026-01"


def test_the_columns_are_the_summed_models_fields() -> None:
    # A field added to a summed model must be added to the layout (and DAILY_VERSION raised), or it would be lost.
    for model in (Tally, RateBasis, Comparison, Mix):
        assert sorted(COLUMNS[model]) == sorted(model.model_fields)


@pytest.mark.parametrize("seed", range(3))
def test_a_day_decodes_to_exactly_what_was_encoded(seed: int) -> None:
    days = random_history(seed, date(2026, 1, 1), date(2026, 1, 31))
    for snapshot in days:
        day = RolledDay.of(snapshot)
        assert decode_day(day.date, encode_day(day)) == day
    assert any(d.failed_providers for d in days)  # the history covers failures, unpriced models, no index…
    assert any(p.unpriced_models for d in days for p in d.by_provider.values())
    assert any(d.benchmark.stci_frontier_blended is None for d in days)


@pytest.mark.parametrize("seed", range(3))
def test_a_rollup_gives_back_its_days_snapshots_exactly(seed: int) -> None:
    """What lets the alerts' judging read one rollup instead of a month of snapshots: the same spend history."""
    days = random_history(seed, date(2026, 1, 1), date(2026, 1, 31))
    rollup = rollup_month("2026-01", days, retention_months=24)
    assert rollup is not None
    assert month_snapshots(rollup, retention_months=24) == {d.date: d for d in days}


def test_a_rollup_without_its_days_gives_back_none() -> None:
    rollup = rollup_month("2026-01", random_history(0, date(2026, 1, 1), date(2026, 1, 31)), retention_months=24)
    assert rollup is not None
    older = rollup.model_copy(update={"daily": None, "daily_version": None})
    assert month_snapshots(older, retention_months=24) is None


def test_models_used_that_differ_from_the_breakdown_survive() -> None:
    tally = Tally(input_tokens=5, cost_usd=Decimal("0.10"))
    part = ProviderPart(tally=tally, by_model={"gpt-4o": tally}, models_used=[])  # a cost line naming a model
    day = RolledDay(date=date(2026, 1, 2), by_provider={"openai": part})
    assert decode_day(day.date, encode_day(day)).by_provider["openai"].models_used == []


def test_money_stays_a_plain_decimal_string() -> None:
    part = ProviderPart(tally=Tally(cost_usd=Decimal("1E-7"), list_cost_usd=Decimal("12.5000")))
    text = zlib.decompress(encode_day(RolledDay(date=date(2026, 1, 2), by_provider={"openai": part}))).decode()
    assert '"0.0000001","0","12.5000"' in text  # cost, estimated part, list cost


@pytest.mark.parametrize("source", list(CostSource))
def test_an_estimated_or_mixed_cost_survives_filtered_or_not(source: CostSource) -> None:
    estimated = Decimal("3.25") if source is not CostSource.BILLED else Decimal(0)
    tally = Tally(input_tokens=1000, cost_usd=Decimal("4.00"), estimated_cost_usd=estimated)
    part = ProviderPart(cost_source=source, tally=tally, by_model={"gemini-2.5-pro": tally})
    day = RolledDay(date=date(2026, 1, 2), by_provider={"google": part})
    data = encode_day(day)

    assert decode_day(day.date, data) == day
    model_view = decode_day(day.date, data, model="gemini-2.5-pro").by_provider["google"]
    assert (model_view.cost_source, model_view.tally.estimated_cost_usd) == (source, estimated)


def test_a_large_enterprises_month_keeps_its_days_far_below_the_document_limit() -> None:
    # 31 days x 2 providers x (60 models + 10 projects) every day: 4,340 day tallies in one document.
    month = rollup_month("2026-01", large_month(models=60, projects=10), retention_months=24)
    assert month is not None
    assert month.has_daily
    size = document_size(MONTH_PATH, stored(month, datetime(2026, 2, 1, tzinfo=UTC)))
    daily = sum(len(data) for data in (month.daily or {}).values())
    print(f"worst-case rollup: {size:,} bytes, of which daily {daily:,}")  # noqa: T201 - shown with -s
    assert size < MAX_ROLLUP_BYTES * 0.4
    assert size < MAX_DOCUMENT_BYTES * 0.3
    assert UsageMonth.model_validate_json(month.model_dump_json()) == month  # base64 in JSON, bytes in Firestore


def test_a_month_too_large_for_its_days_keeps_its_sums_and_stays_below_the_limit() -> None:
    month = rollup_month("2026-01", large_month(models=200, projects=25), retention_months=24)
    assert month is not None
    assert not month.has_daily
    assert month.daily is None
    assert month.totals.total_cost_usd > 0
    size = document_size(MONTH_PATH, stored(month, datetime(2026, 2, 1, tzinfo=UTC)))
    print(f"rollup without its days: {size:,} bytes")  # noqa: T201 - shown with -s
    assert size < MAX_DOCUMENT_BYTES
