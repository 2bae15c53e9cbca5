"""The list-price market index ("rack rate"): what the big creators' models cost at list, per 1M tokens.

Definition of the published levels (benchmarks-and-index.md §2):

* **Basket** (``shared/domain/peers/index_basket.py``, data file ``data/index_basket.json``): ``STCI-FRONTIER`` holds
  each major creator's (OpenAI, Anthropic, Google) generally available flagship text model, ``STCI-EFFICIENT`` each
  creator's generally available low-cost text model. No previews, deprecated, audio or image models. Memberships
  carry effective dates; the basket file carries a version.
* **Model list price**: the creator's own API, standard service tier, base context tier; ``p_in`` = uncached input,
  ``p_out`` = output, USD per 1M tokens, from the bundled ``genai-prices`` data at the day.
* **Blend**: ``B = 0.75 p_in + 0.25 p_out`` per model, the same 3:1 input:output blend as an enterprise's effective
  rate (M2), so the two can be shown side by side.
* **STCI-FRONTIER level** on a day = the mean over creators of the mean ``B`` of that creator's frontier basket
  models priced that day (equal weight per creator, not per model); ``p_in`` and ``p_out`` of the level are the same
  means of ``p_in`` and ``p_out``, so ``blended = 0.75 p_in + 0.25 p_out`` holds for the level too.
  ``STCI-EFFICIENT`` is defined the same way on the efficient basket. A month's level is the mean of its published
  daily levels (``month_level``).
* **Data rules**: a model without a price on the day takes its most recent price of the previous 7 days (carried
  forward, and marked so); a level is published only when at least 50% of its basket models are priced, otherwise its
  status is ``insufficient_data`` and it carries no value. Every ``IndexDay`` records the price-data version, the
  basket version and the SHA-256 of the canonical JSON of its inputs (the prices used), so it can be recomputed and
  checked.
* **Trend** (``chain_index``): a chained, matched-model index in price relatives, base 100. The link from day
  ``t-1`` to ``t`` prices day ``t-1``'s basket on both days (equal weight per creator, models priced on both days
  only), so a model entering or leaving the basket never moves the trend; only price changes do. Each level lists the
  models that left the basket that day (``member = false``) with their prices, so the last link of a leaving model
  can be made even when a whole basket is replaced at once.

Levels are rounded to 6 decimal places (half-even); model prices are kept exactly as the price data states them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from typing import Any, TypeGuard

from shared.domain.peers.index_basket import Basket, Membership, default_basket
from shared.domain.peers.index_models import (
    EFFICIENT,
    FRONTIER,
    ChainPoint,
    IndexDay,
    IndexLevel,
    IndexStatus,
    ModelQuote,
)
from shared.domain.usage.pricing import PRICE_DATA_VERSION, UnitPrice, Unpriced, list_unit_price
from shared.domain.usage.records import ContextBand, PriceBasis, Provider, ServiceTier, TokenType

INPUT_WEIGHT = Decimal("0.75")
OUTPUT_WEIGHT = Decimal("0.25")
MAX_CARRY_FORWARD_DAYS = 7
MIN_PRICED_SHARE = Decimal("0.5")
LEVEL_QUANTUM = Decimal("0.000001")
CHAIN_BASE = Decimal(100)

__all__ = [
    "EFFICIENT",
    "FRONTIER",
    "ChainPoint",
    "IndexDay",
    "IndexLevel",
    "IndexStatus",
    "ModelQuote",
    "PriceSource",
    "blend",
    "chain_index",
    "index_for_day",
    "month_level",
]

PriceSource = Callable[[Provider, str, TokenType, date], UnitPrice | Unpriced]
"""A model's standard-tier, base-context list price for one token meter on one day."""


def _genai_price(provider: Provider, model: str, token_type: TokenType, day: date) -> UnitPrice | Unpriced:
    return list_unit_price(provider, model, token_type, ServiceTier.STANDARD, ContextBand.STANDARD, day)


def index_for_day(day: date, basket: Basket | None = None, *, prices: PriceSource | None = None) -> IndexDay:
    """The market index levels on ``day`` (UTC) for ``basket`` (default: the shipped basket).

    ``prices`` replaces the list-price lookup (tests use it to simulate gaps in the price data).
    """
    basket = basket or default_basket()
    lookup = prices or _genai_price
    levels = {name: _level(_quotes(basket, name, day, lookup)) for name in sorted(basket.levels)}
    return IndexDay(
        day=day,
        levels=levels,
        basket_version=basket.version,
        price_data_version=PRICE_DATA_VERSION,
        inputs_sha256=_inputs_sha256(day, basket.version, levels),
    )


def month_level(days: Sequence[IndexDay], name: str) -> Decimal:
    """The month's level of ``name``: the mean of its published daily blended levels.

    Raises:
        ValueError: ``days`` span more than one calendar month, or none of them published ``name``.
    """
    if len({(d.day.year, d.day.month) for d in days}) > 1:
        raise ValueError("month_level takes the days of one calendar month")
    values = [level.blended for d in days if (level := d.levels.get(name)) is not None and level.blended is not None]
    if not values:
        raise ValueError(f"no published {name} level in these days")
    return _round(sum(values, Decimal(0)) / len(values))


def chain_index(days: Sequence[IndexDay]) -> dict[str, list[ChainPoint]]:
    """The chained matched-model trend of every level over consecutive ``days``, base 100 at the first published day.

    Raises:
        ValueError: ``days`` are not consecutive calendar days in ascending order.
    """
    for before, after in pairwise(days):
        if after.day - before.day != timedelta(days=1):
            raise ValueError("chain_index takes consecutive days in ascending order")
    names = sorted({name for d in days for name in d.levels})
    return {name: _chain(days, name) for name in names}


def _chain(days: Sequence[IndexDay], name: str) -> list[ChainPoint]:
    points: list[ChainPoint] = []
    value: Decimal | None = None
    broken = False
    previous: IndexLevel | None = None
    for d in days:
        level = d.levels.get(name)
        if level is not None and not broken:
            if value is None:
                if level.status is IndexStatus.PUBLISHED:
                    value = CHAIN_BASE
            elif previous is not None:
                link = _link(previous, level)
                if link is None:
                    broken, value = True, None
                else:
                    value *= link
        published = level is not None and level.status is IndexStatus.PUBLISHED
        shown = _round(value) if value is not None and published and not broken else None
        points.append(ChainPoint(day=d.day, value=shown))
        previous = level
    return points


def _link(previous: IndexLevel, current: IndexLevel) -> Decimal | None:
    """Price relative of the previous day's basket: its equal-weight-per-creator level now ÷ then (matched models)."""
    now = {(q.creator, q.model): q.blended for q in current.models if q.blended is not None}
    before: dict[Provider, list[Decimal]] = {}
    after: dict[Provider, list[Decimal]] = {}
    for quote in previous.models:
        current_price = now.get((quote.creator, quote.model))
        if quote.member and quote.blended is not None and current_price is not None:
            before.setdefault(quote.creator, []).append(quote.blended)
            after.setdefault(quote.creator, []).append(current_price)
    if not before:
        return None
    return _mean_of_means(after) / _mean_of_means(before)


def _quotes(basket: Basket, name: str, day: date, lookup: PriceSource) -> list[ModelQuote]:
    today = basket.members_on(name, day)
    leaving = [m for m in basket.members_on(name, day - timedelta(days=1)) if not _contains(today, m)]
    quotes = [_quote(m, True, day, lookup) for m in today] + [_quote(m, False, day, lookup) for m in leaving]
    return sorted(quotes, key=lambda q: (not q.member, q.creator.value, q.model))


def _contains(members: Sequence[Membership], member: Membership) -> bool:
    return any(m.creator is member.creator and m.model == member.model for m in members)


def _quote(member: Membership, is_member: bool, day: date, lookup: PriceSource) -> ModelQuote:
    for back in range(MAX_CARRY_FORWARD_DAYS + 1):
        on = day - timedelta(days=back)
        p_in = lookup(member.creator, member.model, TokenType.UNCACHED_INPUT, on)
        p_out = lookup(member.creator, member.model, TokenType.OUTPUT, on)
        if _usable(p_in) and _usable(p_out):
            return ModelQuote(
                creator=member.creator,
                model=member.model,
                member=is_member,
                p_in=p_in.usd_per_mtok,
                p_out=p_out.usd_per_mtok,
                blended=blend(p_in.usd_per_mtok, p_out.usd_per_mtok).normalize(),
                priced_on=on,
                price_model_id=p_in.price_model_id,
            )
    return ModelQuote(creator=member.creator, model=member.model, member=is_member)


def _usable(price: UnitPrice | Unpriced) -> TypeGuard[UnitPrice]:
    # A basket model "listed with no price" is missing data for an index, not a free model.
    return isinstance(price, UnitPrice) and price.basis is not PriceBasis.FREE and price.usd_per_mtok > 0


def blend(p_in: Decimal, p_out: Decimal) -> Decimal:
    """The 3:1 blended price ``0.75 p_in + 0.25 p_out`` (USD per 1M tokens), unrounded."""
    return INPUT_WEIGHT * p_in + OUTPUT_WEIGHT * p_out


def _level(quotes: list[ModelQuote]) -> IndexLevel:
    members = [q for q in quotes if q.member]
    priced = [q for q in members if q.blended is not None]
    share = Decimal(len(priced)) / len(members) if members else Decimal(0)
    if not members or share < MIN_PRICED_SHARE:
        return IndexLevel(status=IndexStatus.INSUFFICIENT_DATA, priced_share=_round(share), models=tuple(quotes))
    p_in: dict[Provider, list[Decimal]] = {}
    p_out: dict[Provider, list[Decimal]] = {}
    for q in priced:
        if q.p_in is not None and q.p_out is not None:
            p_in.setdefault(q.creator, []).append(q.p_in)
            p_out.setdefault(q.creator, []).append(q.p_out)
    level_in, level_out = _mean_of_means(p_in), _mean_of_means(p_out)
    return IndexLevel(
        status=IndexStatus.PUBLISHED,
        p_in=_round(level_in),
        p_out=_round(level_out),
        blended=_round(blend(level_in, level_out)),
        priced_share=_round(share),
        models=tuple(quotes),
    )


def _mean_of_means(groups: dict[Provider, list[Decimal]]) -> Decimal:
    means = [sum(values, Decimal(0)) / len(values) for values in groups.values()]
    return sum(means, Decimal(0)) / len(means)


def _round(value: Decimal) -> Decimal:
    return value.quantize(LEVEL_QUANTUM, rounding=ROUND_HALF_EVEN)


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _inputs_sha256(day: date, basket_version: str, levels: dict[str, IndexLevel]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no whitespace) of everything the values derive from."""
    inputs: dict[str, Any] = {
        "day": day.isoformat(),
        "basket_version": basket_version,
        "price_data_version": PRICE_DATA_VERSION,
        "levels": {
            name: [
                {
                    "creator": q.creator.value,
                    "model": q.model,
                    "member": q.member,
                    "p_in": _plain(q.p_in),
                    "p_out": _plain(q.p_out),
                    "priced_on": q.priced_on.isoformat() if q.priced_on else None,
                }
                for q in level.models
            ]
            for name, level in levels.items()
        },
    }
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
