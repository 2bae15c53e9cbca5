"""The market index: levels, data rules, chaining and reproducibility.

Expected levels are derived by hand from list prices (USD per 1M tokens, input / output): provider-apis.md §4.1 for
gpt-5.5 5/30, claude-opus-4-5 5/25, claude-sonnet-4-5 3/15, gemini-2.5-pro 1.25/10, gpt-5-mini 0.25/2,
claude-haiku-4-5 1/5, gemini-2.5-flash 0.30/2.50; the creators' pricing pages for the shipped basket's current
members (gpt-6-astra 10/50, claude-fable-5-1 10/50, gemini-3.8-flash 0.75/3.75, gpt-6-luna 0.10/0.50,
gemini-3.5-flash-lite 0.30/2.50). Blend B = 0.75 in + 0.25 out.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from genai_prices import data_snapshot

from shared.domain.peers.index_basket import Basket, BasketLevel, Membership, default_basket
from shared.domain.peers.market_index import (
    EFFICIENT,
    FRONTIER,
    IndexDay,
    IndexStatus,
    chain_index,
    index_for_day,
    month_level,
)
from shared.domain.usage.records import Provider
from tests.support.fake_prices import TablePrices

OAI, ANT, GOO = Provider.OPENAI, Provider.ANTHROPIC, Provider.GOOGLE
DAY = date(2026, 11, 2)
START = date(2026, 1, 1)


def member(creator: Provider, model: str, start: date = START, until: date | None = None) -> Membership:
    return Membership(creator=creator, model=model, effective_from=start, effective_until=until)


def basket(frontier: list[Membership], efficient: list[Membership] | None = None, version: str = "test-1") -> Basket:
    levels = {FRONTIER: BasketLevel(definition="flagships", members=tuple(frontier))}
    if efficient is not None:
        levels[EFFICIENT] = BasketLevel(definition="low-cost", members=tuple(efficient))
    return Basket(version=version, levels=levels)


SECTION_4_1 = basket(
    [
        member(OAI, "gpt-5.5"),
        member(ANT, "claude-opus-4-5"),
        member(ANT, "claude-sonnet-4-5"),
        member(GOO, "gemini-2.5-pro"),
    ],
    [member(OAI, "gpt-5-mini"), member(ANT, "claude-haiku-4-5"), member(GOO, "gemini-2.5-flash")],
)


def test_levels_weight_each_creator_equally_and_match_hand_derived_list_prices() -> None:
    index = index_for_day(DAY, SECTION_4_1)
    frontier = index.levels[FRONTIER]
    # B: gpt-5.5 3.75+7.5 = 11.25; Anthropic mean(opus 10, sonnet 6) = 8; gemini-2.5-pro 0.9375+2.5 = 3.4375.
    # Level = (11.25 + 8 + 3.4375) / 3 = 7.5625 (a mean over the four models would give 7.671875).
    assert frontier.status is IndexStatus.PUBLISHED
    assert frontier.blended == Decimal("7.5625")
    assert frontier.p_in == Decimal("3.416667")  # (5 + mean(5, 3) + 1.25) / 3 = 10.25 / 3
    assert frontier.p_out == Decimal("20")  # (30 + mean(25, 15) + 10) / 3
    assert {q.model: q.blended for q in frontier.models} == {
        "gpt-5.5": Decimal("11.25"),
        "claude-opus-4-5": Decimal("10"),
        "claude-sonnet-4-5": Decimal("6"),
        "gemini-2.5-pro": Decimal("3.4375"),
    }
    # 0.6875 (gpt-5-mini) + 2 (haiku) + 0.85 (flash) = 3.5375; / 3 = 1.1791666…
    assert index.levels[EFFICIENT].blended == Decimal("1.179167")
    assert index.basket_version == "test-1"
    assert index.price_data_version == "0.2.3"


def test_shipped_basket_on_a_november_day() -> None:
    index = index_for_day(DAY)
    frontier, efficient = index.levels[FRONTIER], index.levels[EFFICIENT]
    assert {q.model for q in frontier.models} == {"gpt-6-astra", "claude-fable-5-1", "gemini-3.8-flash"}
    # (20 + 20 + 1.5) / 3 and (0.2 + 2 + 0.85) / 3
    assert frontier.blended == Decimal("13.833333")
    assert efficient.blended == Decimal("1.016667")
    assert index.basket_version == default_basket().version


CREATORS = (Provider.OPENAI, Provider.ANTHROPIC, Provider.GOOGLE)
"""The model creators the index quotes at their own list prices (Bedrock is a channel, not a creator)."""


def test_shipped_basket_prices_one_ga_model_per_creator_on_every_day_since_inception() -> None:
    shipped = default_basket()
    models = {(p.id, m.id): m for p in data_snapshot.get_snapshot().providers for m in p.models}
    first = min(m.effective_from for level in shipped.levels.values() for m in level.members)
    for name, level in shipped.levels.items():
        for m in level.members:
            assert "preview" not in m.model
            assert models[(m.creator.value, m.model)].deprecated is not True, m.model
        day = first
        while day <= DAY:
            members = level.members_on(day)
            assert sorted(m.creator for m in members) == sorted(CREATORS), (name, day)
            assert index_for_day(day).levels[name].priced_share == 1, (name, day)
            day += timedelta(days=1)


def test_days_before_the_first_membership_publish_nothing() -> None:
    index = index_for_day(date(2025, 12, 31), SECTION_4_1)
    assert not index.published
    assert all(level.blended is None and level.models == () for level in index.levels.values())


THREE = basket([member(OAI, "o"), member(ANT, "a"), member(GOO, "g")])
GAP_FROM = date(2026, 3, 10)


def test_a_missing_price_is_carried_forward_for_at_most_seven_days() -> None:
    prices = TablePrices(
        {
            "o": [(START, ("5", "30"))],
            "a": [(START, ("5", "25")), (GAP_FROM, None)],
            "g": [(START, ("1.25", "10"))],
        }
    )
    last_priced = GAP_FROM - timedelta(days=1)
    for days_after in range(1, 8):
        level = index_for_day(last_priced + timedelta(days=days_after), THREE, prices=prices).levels[FRONTIER]
        quote = next(q for q in level.models if q.model == "a")
        assert quote.priced_on == last_priced
        assert level.blended == Decimal("8.229167")  # (11.25 + 10 + 3.4375) / 3
    level = index_for_day(last_priced + timedelta(days=8), THREE, prices=prices).levels[FRONTIER]
    assert next(q for q in level.models if q.model == "a").blended is None
    assert level.priced_share == Decimal("0.666667")
    assert level.blended == Decimal("7.34375")  # the priced creators only: (11.25 + 3.4375) / 2


def test_under_half_of_the_basket_priced_publishes_nothing_and_half_still_publishes() -> None:
    four = basket([member(OAI, "o"), member(ANT, "a"), member(GOO, "g"), member(GOO, "g2")])
    prices = TablePrices({"o": [(START, ("5", "30"))], "a": [(START, ("5", "25"))]})
    half = index_for_day(DAY, four, prices=prices).levels[FRONTIER]
    assert half.status is IndexStatus.PUBLISHED
    assert half.blended == Decimal("10.625")  # (11.25 + 10) / 2

    one_of_three = index_for_day(DAY, THREE, prices=TablePrices({"o": [(START, ("5", "30"))]}))
    level = one_of_three.levels[FRONTIER]
    assert level.status is IndexStatus.INSUFFICIENT_DATA
    assert (level.p_in, level.p_out, level.blended) == (None, None, None)
    assert not one_of_three.published


def test_chained_trend_ignores_a_model_entering_and_follows_price_changes() -> None:
    d1 = date(2026, 5, 1)
    entering = basket([member(OAI, "o"), member(ANT, "a"), member(GOO, "g", start=d1 + timedelta(days=2))])
    prices = TablePrices(
        {
            "o": [(START, ("5", "30")), (d1 + timedelta(days=4), ("2.5", "15"))],
            "a": [(START, ("5", "25"))],
            "g": [(START, ("0.30", "2.50"))],
        }
    )
    days = [index_for_day(d1 + timedelta(days=i), entering, prices=prices) for i in range(5)]
    levels = [d.levels[FRONTIER].blended for d in days]
    # g (B 0.85) joins on day 3: the level drops from (11.25 + 10) / 2 to (11.25 + 10 + 0.85) / 3.
    assert levels[:4] == [Decimal("10.625"), Decimal("10.625"), Decimal("7.366667"), Decimal("7.366667")]
    chain = [p.value for p in chain_index(days)[FRONTIER]]
    # Day 5: o halves (11.25 -> 5.625); link = (5.625 + 10 + 0.85) / (11.25 + 10 + 0.85) = 16.475 / 22.1.
    assert chain == [Decimal(100)] * 4 + [Decimal("74.547511")]


def test_replacing_the_whole_basket_at_a_review_does_not_move_the_trend() -> None:
    days = [index_for_day(date(2026, 9, 29) + timedelta(days=i)) for i in range(4)]
    # Q3 frontier: gpt-5.5 11.25, claude-fable-5 20, gemini-3.5-flash 1.125 + 2.25 = 3.375.
    assert days[0].levels[FRONTIER].blended == Decimal("11.541667")
    assert days[3].levels[FRONTIER].blended == Decimal("13.833333")
    assert all(p.value == 100 for points in chain_index(days).values() for p in points)


def test_chain_index_wants_consecutive_days() -> None:
    with pytest.raises(ValueError, match="consecutive"):
        chain_index([index_for_day(DAY), index_for_day(DAY + timedelta(days=2))])


def test_recomputation_gives_the_same_document_and_sha() -> None:
    first, again = index_for_day(DAY), index_for_day(DAY)
    assert first == again
    assert len(first.inputs_sha256) == 64
    assert IndexDay.model_validate_json(first.model_dump_json()) == first
    renamed = index_for_day(DAY, default_basket().model_copy(update={"version": "other"}))
    assert renamed.inputs_sha256 != first.inputs_sha256
    moved = index_for_day(DAY, THREE, prices=TablePrices({"o": [(START, ("5", "30"))], "a": [(START, ("5", "25"))]}))
    cheaper = index_for_day(DAY, THREE, prices=TablePrices({"o": [(START, ("5", "30"))], "a": [(START, ("4", "25"))]}))
    assert moved.inputs_sha256 != cheaper.inputs_sha256


def test_month_level_is_the_mean_of_published_daily_levels() -> None:
    prices = TablePrices(
        {"o": [(START, ("5", "30")), (date(2026, 4, 3), ("2.5", "15"))], "a": [(START, ("5", "25"))], "g": []}
    )
    days = [index_for_day(date(2026, 4, 1) + timedelta(days=i), THREE, prices=prices) for i in range(4)]
    # Two days at (11.25 + 10) / 2 = 10.625, two at (5.625 + 10) / 2 = 7.8125: mean 9.21875.
    assert month_level(days, FRONTIER) == Decimal("9.21875")
    with pytest.raises(ValueError, match="one calendar month"):
        month_level([*days, index_for_day(date(2026, 5, 1), THREE, prices=prices)], FRONTIER)
    with pytest.raises(ValueError, match="no published"):
        month_level([index_for_day(date(2026, 4, 1), THREE, prices=TablePrices({}))], FRONTIER)


def test_basket_memberships_must_not_overlap_or_end_before_they_start() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        BasketLevel(definition="x", members=(member(OAI, "o"), member(OAI, "o", start=date(2026, 6, 1))))
    with pytest.raises(ValueError, match="after effective_from"):
        member(OAI, "o", start=date(2026, 6, 1), until=date(2026, 6, 1))
