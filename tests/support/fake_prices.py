"""A price table standing in for the price data, to simulate price changes and gaps on chosen days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.domain.usage.pricing import UnitPrice, Unpriced, UnpricedReason
from shared.domain.usage.records import PriceBasis, Provider, TokenType

Prices = tuple[str, str] | None
"""(input, output) USD per 1M tokens, or ``None`` for "no price from this day on"."""


class TablePrices:
    """``PriceSource``: each model's prices as a list of (first day, prices) changes, in day order."""

    def __init__(self, table: dict[str, list[tuple[date, Prices]]]) -> None:
        self.table = table

    def __call__(self, provider: Provider, model: str, token_type: TokenType, day: date) -> UnitPrice | Unpriced:
        current: Prices = None
        for start, prices in self.table.get(model, []):
            if start <= day:
                current = prices
        if current is None or token_type not in (TokenType.UNCACHED_INPUT, TokenType.OUTPUT):
            return Unpriced(UnpricedReason.UNKNOWN_MODEL)
        value = current[0] if token_type is TokenType.UNCACHED_INPUT else current[1]
        return UnitPrice(Decimal(value), PriceBasis.STANDARD, model)
