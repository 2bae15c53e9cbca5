"""The market index's published models: one ``IndexDay`` per UTC day, stored at ``indices/{YYYY-MM-DD}``.

Kept apart from the computation (``shared.domain.peers.market_index``) so readers of stored index days do not load the
price data. Prices and levels are ``Decimal`` in USD per 1M tokens and serialise as plain-notation strings.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.domain.peers.models import PublishedFigure
from shared.domain.usage.records import Provider

FRONTIER = "STCI-FRONTIER"
"""The frontier level's name in every API response (definition: ``shared.domain.peers.market_index``)."""
EFFICIENT = "STCI-EFFICIENT"

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class IndexStatus(StrEnum):
    PUBLISHED = "published"
    INSUFFICIENT_DATA = "insufficient_data"
    """Under 50% of the basket priced: nothing is published for the level that day."""


class ModelQuote(BaseModel):
    """One basket model's list price on the day."""

    model_config = _FROZEN

    creator: Provider
    model: str
    member: bool
    """In the level's basket on the day; ``False`` = left the basket that day (kept only for chain-linking)."""
    p_in: PublishedFigure | None = None
    p_out: PublishedFigure | None = None
    blended: PublishedFigure | None = None
    priced_on: date | None = None
    """The day the price was read: the index day, or up to 7 days earlier when carried forward."""
    price_model_id: str | None = None


class IndexLevel(BaseModel):
    """One level (e.g. ``STCI-FRONTIER``) on one day."""

    model_config = _FROZEN

    status: IndexStatus
    p_in: PublishedFigure | None = None
    p_out: PublishedFigure | None = None
    blended: PublishedFigure | None = None
    priced_share: PublishedFigure
    """Priced basket members ÷ basket members (0 when the basket is empty)."""
    models: tuple[ModelQuote, ...]


class IndexDay(BaseModel):
    """Every level of the market index on one UTC day, with what is needed to recompute it."""

    model_config = _FROZEN

    day: date
    levels: dict[str, IndexLevel]
    basket_version: str
    price_data_version: str
    inputs_sha256: str

    @property
    def published(self) -> bool:
        """Whether at least one level carries a value."""
        return any(level.status is IndexStatus.PUBLISHED for level in self.levels.values())


class ChainPoint(BaseModel):
    model_config = _FROZEN

    day: date
    value: PublishedFigure | None
    """``None`` before the first published day, on unpublished days and after a break in the chain."""
