"""A rollup's per-day detail: exact round trip, a layout that follows the summed models, and its size at worst."""

from __future__ import annotations

import random
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from shared.adapters.firestore_snapshots import stored
from shared.domain.rollup_days import COLUMNS, RolledDay, decode_day, encode_day
from shared.domain.snapshot import IndexLevel, UsageSnapshot, build_snapshot
from shared.domain.snapshot_parts import ProviderPart
from shared.domain.usage_month import MAX_ROLLUP_BYTES, UsageMonth, rollup_month
from shared.domain.usage_tally import Comparison, Mix, RateBasis, Tally
from tests.support.firestore_size import MAX_DOCUMENT_BYTES, document_size
from tests.support.random_usage import random_history

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


def test_models_used_that_differ_from_the_breakdown_survive() -> None:
    tally = Tally(input_tokens=5, cost_usd=Decimal("0.10"))
    part = ProviderPart(tally=tally, by_model={"gpt-4o": tally}, models_used=[])  # a cost line naming a model
    day = RolledDay(date=date(2026, 1, 2), by_provider={"openai": part})
    assert decode_day(day.date, encode_day(day)).by_provider["openai"].models_used == []


def test_money_stays_a_plain_decimal_string() -> None:
    part = ProviderPart(tally=Tally(cost_usd=Decimal("1E-7"), list_cost_usd=Decimal("12.5000")))
    text = zlib.decompress(encode_day(RolledDay(date=date(2026, 1, 2), by_provider={"openai": part}))).decode()
    assert '"0.0000001","12.5000"' in text


def _big_part(rng: random.Random, provider: str, models: int, projects: int) -> ProviderPart:
    def tally() -> Tally:
        return Tally(
            input_tokens=rng.randint(10**8, 10**10),
            output_tokens=rng.randint(10**7, 10**9),
            cached_tokens=rng.randint(10**7, 10**9),
            cache_write_tokens=rng.randint(10**6, 10**8),
            cost_usd=Decimal(rng.randint(10**9, 10**11)).scaleb(-6),  # "123456.789012"
            list_cost_usd=Decimal(rng.randint(10**12, 10**14)).scaleb(-9),
            request_count=rng.randint(10**4, 10**6),
        )

    third = Decimal(1) / Decimal(3)  # rate bases hold 28-digit quotients
    return ProviderPart(
        tally=tally(),
        rate_basis=RateBasis(input_tokens=10**10, output_tokens=10**9, input_cost_usd=third, output_cost_usd=third),
        comparison=Comparison(billed_usd=Decimal("123456.789012"), list_usd=Decimal("234567.890123")),
        mix=Mix(batch_tokens=10**9, tokens=10**10),
        by_model={f"{provider}-model-name-{i:02d}-2025-08-07": tally() for i in range(models)},
        by_project={f"proj_{provider}_{i:02d}_abcdefghijklmnop": tally() for i in range(projects)},
        reconciliation_reasons=["unpriced_usage"],
        unpriced_models=[f"{provider}-model-name-00-2025-08-07"],
        price_data_versions=["0.2.30"],
        savings_usd={"batch": Decimal("1234.567890"), "cache": Decimal("234.567890"), "model_mix": Decimal("1.5")},
    )


def _month(models: int, projects: int) -> list[UsageSnapshot]:
    rng = random.Random(7)
    level = IndexLevel(blended=Decimal("5.2512345678"), version="2026.01/0.2.30/0123456789ab")
    days = []
    for i in range(31):
        parts = {p: _big_part(rng, p, models, projects) for p in ("anthropic", "openai")}
        days.append(build_snapshot(date(2026, 1, 1) + timedelta(days=i), parts, index=level, retention_months=24))
    return days


def test_a_large_enterprises_month_keeps_its_days_far_below_the_document_limit() -> None:
    # 31 days x 2 providers x (60 models + 10 projects) every day: 4,340 day tallies in one document.
    month = rollup_month("2026-01", _month(models=60, projects=10), retention_months=24)
    assert month is not None
    assert month.has_daily
    size = document_size(MONTH_PATH, stored(month, datetime(2026, 2, 1, tzinfo=UTC)))
    daily = sum(len(data) for data in (month.daily or {}).values())
    print(f"worst-case rollup: {size:,} bytes, of which daily {daily:,}")  # noqa: T201 - shown with -s
    assert size < MAX_ROLLUP_BYTES * 0.4
    assert size < MAX_DOCUMENT_BYTES * 0.3
    assert UsageMonth.model_validate_json(month.model_dump_json()) == month  # base64 in JSON, bytes in Firestore


def test_a_month_too_large_for_its_days_keeps_its_sums_and_stays_below_the_limit() -> None:
    month = rollup_month("2026-01", _month(models=200, projects=25), retention_months=24)
    assert month is not None
    assert not month.has_daily
    assert month.daily is None
    assert month.totals.total_cost_usd > 0
    size = document_size(MONTH_PATH, stored(month, datetime(2026, 2, 1, tzinfo=UTC)))
    print(f"rollup without its days: {size:,} bytes")  # noqa: T201 - shown with -s
    assert size < MAX_DOCUMENT_BYTES
