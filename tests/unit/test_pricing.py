"""List prices per token meter, checked against the prices stated in docs/reference provider-apis.md §4.1."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import version

import pytest
from genai_prices import Usage, calc_price

from shared.domain.usage.normalise import DayPart, RawUsage, build_day
from shared.domain.usage.pricing import PRICE_DATA_VERSION, UnitPrice, Unpriced, UnpricedReason, list_unit_price
from shared.domain.usage.records import ContextBand, PriceBasis, Provider, ServiceTier, TokenType

ANT, OAI = Provider.ANTHROPIC, Provider.OPENAI
STD, BATCH, PRIO = ServiceTier.STANDARD, ServiceTier.BATCH, ServiceTier.PRIORITY
SHORT, LONG = ContextBand.STANDARD, ContextBand.LONG
IN, READ, W5, W1, OUT = (
    TokenType.UNCACHED_INPUT,
    TokenType.CACHE_READ,
    TokenType.CACHE_WRITE_5M,
    TokenType.CACHE_WRITE_1H,
    TokenType.OUTPUT,
)
DAY = date(2026, 11, 2)
SONNET = "claude-sonnet-4-5-20250929"


def per_mtok(
    provider: Provider,
    model: str,
    token_type: TokenType,
    tier: ServiceTier = STD,
    band: ContextBand = SHORT,
    day: date = DAY,
) -> Decimal:
    price = list_unit_price(provider, model, token_type, tier, band, day)
    assert isinstance(price, UnitPrice), price
    return price.usd_per_mtok


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        # provider-apis.md §4.1 table: input, cached input (read), cache write 5m, cache write 1h, output.
        (ANT, SONNET, ("3.00", "0.30", "3.75", "6", "15.00")),
        (ANT, "claude-haiku-4-5", ("1.00", "0.10", "1.25", "2", "5.00")),
        (ANT, "claude-opus-4-5", ("5.00", "0.50", "6.25", "10", "25.00")),
        # OpenAI has no cache-write price: genai-prices charges the write at the input price.
        (OAI, "gpt-4o-2024-08-06", ("2.50", "1.25", "2.50", "2.50", "10.00")),
        (OAI, "gpt-4.1-mini", ("0.40", "0.10", "0.40", "0.40", "1.60")),
        (OAI, "gpt-5-2025-08-07", ("1.25", "0.125", "1.25", "1.25", "10.00")),
    ],
)
def test_standard_prices_match_the_published_table(provider: Provider, model: str, expected: tuple[str, ...]) -> None:
    got = tuple(per_mtok(provider, model, t) for t in (IN, READ, W5, W1, OUT))
    assert got == tuple(Decimal(e) for e in expected)


def test_sonnet_example_prices_each_meter_separately() -> None:
    # §4.2: 1000 input of which 500 cache read and 100 cache write → uncached 400.
    # 400×3 + 500×0.3 + 100×3.75 = 1200 + 150 + 375 = 1725 per 1M → $0.001725.
    usage = [
        RawUsage(SONNET, None, None, STD, SHORT, IN, 400),
        RawUsage(SONNET, None, None, STD, SHORT, READ, 500),
        RawUsage(SONNET, None, None, STD, SHORT, W5, 100),
    ]
    day = build_day(ANT, DAY, [_part(usage)])
    assert day.list_usd == Decimal("0.001725")
    # Same figure from genai-prices' own calculator on a single small request (no tier can trigger there).
    reference = calc_price(
        Usage(input_tokens=1000, cache_read_tokens=500, cache_write_tokens=100),
        SONNET,
        provider_id="anthropic",
        genai_request_timestamp=datetime(2026, 11, 2, tzinfo=UTC),
    )
    assert reference.total_price == Decimal("0.001725")
    assert (day.totals.input_tokens, day.totals.cached_tokens, day.totals.cache_write_tokens) == (1000, 500, 100)


def test_a_days_aggregate_does_not_trigger_the_long_context_tier() -> None:
    # A bucket of 1M standard-band input tokens is many small requests: $3/M, not the $6/M of >200k requests.
    day = build_day(ANT, DAY, [_part([RawUsage(SONNET, None, None, STD, SHORT, IN, 1_000_000)])])
    assert day.list_usd == Decimal("3")


def test_long_context_band_prices_at_the_long_context_tier() -> None:
    # Sonnet 4.5 above 200k input: input 2× ($6), output 1.5× ($22.50), 1h write 2× of $6 ($12).
    assert per_mtok(ANT, SONNET, IN, band=LONG) == Decimal("6")
    assert per_mtok(ANT, SONNET, OUT, band=LONG) == Decimal("22.5")
    assert per_mtok(ANT, SONNET, W1, band=LONG) == Decimal("12")


def test_prices_are_taken_at_the_usage_date() -> None:
    # §4.1: o3 cost $10/$40 before 2025-06-10 and $2/$8 since.
    assert per_mtok(OAI, "o3-2025-04-16", IN, day=date(2025, 5, 1)) == Decimal("10")
    assert per_mtok(OAI, "o3-2025-04-16", OUT, day=date(2025, 7, 1)) == Decimal("8")


def test_batch_uses_the_variant_in_force() -> None:
    # §4.1 batch columns: Sonnet 4.5 1.50/7.50, gpt-4o 1.25/5.00 (variants start 2026-10-14).
    assert per_mtok(ANT, SONNET, IN, tier=BATCH) == Decimal("1.5")
    assert per_mtok(ANT, SONNET, OUT, tier=BATCH) == Decimal("7.5")
    assert per_mtok(OAI, "gpt-4o-2024-08-06", OUT, tier=BATCH) == Decimal("5")


def test_batch_before_the_variant_start_date_uses_it_when_standard_prices_were_unchanged() -> None:
    price = list_unit_price(ANT, SONNET, OUT, BATCH, SHORT, date(2026, 9, 1))
    assert price == UnitPrice(Decimal("7.5"), PriceBasis.TIER_VARIANT_BACKDATED, "claude-sonnet-4-5")


def test_batch_after_a_price_change_falls_back_to_half_the_standard_price() -> None:
    # o3's standard output was $40 in May 2025; the recorded batch variant ($4) belongs to the $8 era → $20.
    price = list_unit_price(OAI, "o3-2025-04-16", OUT, BATCH, SHORT, date(2025, 5, 1))
    assert isinstance(price, UnitPrice)
    assert (price.usd_per_mtok, price.basis) == (Decimal("20"), PriceBasis.BATCH_HALF_PRICE)


def test_priority_without_a_published_price_is_unpriced() -> None:
    assert list_unit_price(ANT, SONNET, IN, PRIO, SHORT, DAY) == Unpriced(UnpricedReason.NO_TIER_PRICE)


def test_unknown_model_is_unpriced_not_zero() -> None:
    assert list_unit_price(OAI, "acme-internal-7b", IN, STD, SHORT, DAY) == Unpriced(UnpricedReason.UNKNOWN_MODEL)
    day = build_day(
        OAI,
        DAY,
        [_part([RawUsage("acme-internal-7b", None, None, STD, SHORT, IN, 5000), _gpt4o_input(1_000_000)])],
    )
    unpriced = [r for r in day.records if r.model == "acme-internal-7b"]
    assert [(r.priced, r.list_cost_usd, r.list_unit_price) for r in unpriced] == [(False, None, None)]
    assert day.unpriced_models == ("acme-internal-7b",)
    assert day.list_usd == Decimal("2.5")  # only the priced gpt-4o million at $2.50


def test_documented_free_model_is_free() -> None:
    price = list_unit_price(OAI, "omni-moderation-latest", IN, STD, SHORT, DAY)
    assert isinstance(price, UnitPrice)
    assert (price.usd_per_mtok, price.basis) == (Decimal(0), PriceBasis.FREE)


def test_price_data_version_is_the_installed_genai_prices() -> None:
    assert version("genai-prices") == PRICE_DATA_VERSION


def _gpt4o_input(n: int) -> RawUsage:
    return RawUsage("gpt-4o-2024-08-06", None, None, STD, SHORT, IN, n)


def _part(usage: list[RawUsage]) -> DayPart:
    return DayPart(usage=tuple(usage))
