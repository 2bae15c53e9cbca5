"""Response models of the market index routes (``/api/v1/indices/...``)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from shared.domain.peers.index_basket import default_basket
from shared.domain.peers.index_models import IndexDay, IndexLevel, IndexStatus
from shared.domain.peers.models import PublishedFigure
from shared.domain.usage.records import Provider

BLEND = "0.75 * input + 0.25 * output (USD per 1M tokens)"


class IndexModelView(BaseModel):
    creator: Provider
    model: str
    p_in: PublishedFigure | None
    p_out: PublishedFigure | None
    blended: PublishedFigure | None
    priced_on: date | None
    """Earlier than the index day when the price was carried forward (at most 7 days)."""


class IndexLevelView(BaseModel):
    status: IndexStatus
    """``insufficient_data``: under half of the basket priced, so no value is published."""
    p_in: PublishedFigure | None
    p_out: PublishedFigure | None
    blended: PublishedFigure | None
    definition: str | None
    models: list[IndexModelView]

    @classmethod
    def of(cls, level: IndexLevel, definition: str | None) -> IndexLevelView:
        return cls(
            status=level.status,
            p_in=level.p_in,
            p_out=level.p_out,
            blended=level.blended,
            definition=definition,
            models=[
                IndexModelView(
                    creator=q.creator,
                    model=q.model,
                    p_in=q.p_in,
                    p_out=q.p_out,
                    blended=q.blended,
                    priced_on=q.priced_on,
                )
                for q in level.models
                if q.member
            ],
        )


class IndexResponse(BaseModel):
    """The market (list-price) index of one day: ``STCI-FRONTIER`` and ``STCI-EFFICIENT``."""

    day: date
    blend: str = BLEND
    levels: dict[str, IndexLevelView]
    basket_version: str
    price_data_version: str
    inputs_sha256: str
    """SHA-256 of the canonical JSON of the prices the levels derive from, to check a recomputation."""

    @classmethod
    def of(cls, day: IndexDay) -> IndexResponse:
        basket = default_basket()
        return cls(
            day=day.day,
            levels={
                name: IndexLevelView.of(level, basket.levels[name].definition if name in basket.levels else None)
                for name, level in sorted(day.levels.items())
            },
            basket_version=day.basket_version,
            price_data_version=day.price_data_version,
            inputs_sha256=day.inputs_sha256,
        )
