"""Request and response models of the peer benchmark routes.

Responses carry published figures only: count bands (never an exact count), percentiles and noisy means per bucket,
and the caller's own position. The disclosure rules' parameters are never part of a response.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from shared.domain.peers.models import BucketResult, CountBand, Month, PublishedFigure
from shared.domain.peers.position import PeerPosition
from shared.domain.usage.records import Provider
from shared.domain.usage.snapshot import INDEX_NAME
from shared.domain.usage.tally import DERIVED_PLACES as COVERAGE_PLACES
from shared.services.peers.read_benchmarks import BenchmarkView

INDEX_BLEND = "0.75 * input + 0.25 * output (USD per 1M tokens), list prices"


class AggregateRequest(BaseModel):
    """Body of the monthly aggregation job; without ``month``, the previous closed month."""

    model_config = ConfigDict(extra="forbid")

    month: Month | None = None
    force: bool = False
    """Publish a new version of a month already published whose inputs changed (audited; R7 checks it against the
    earlier versions). Without it such a re-run is refused (409 ``benchmark_month_frozen``)."""
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)] | None = None
    """Why a new version is forced: kept in the month's audit trail. Required with ``force``."""

    @model_validator(mode="after")
    def _forced_with_a_reason(self) -> Self:
        if self.force and not self.reason:
            raise ValueError("a forced re-run needs a reason")
        return self


class MarketIndexView(BaseModel):
    index: str = INDEX_NAME
    month: str
    blended: PublishedFigure
    """The month's mean daily level."""
    definition: str = INDEX_BLEND


class BenchmarkResponse(BaseModel):
    """``GET /api/v1/benchmarks/...``: a month's published peer benchmark and the caller's position in it."""

    month: str
    computed_at: datetime
    """When the month's data settled: the benchmark reflects provider data as of then."""
    method_version: str
    version: int
    """The month's published version: 1, then one more for each audited re-run (a published month is frozen)."""
    enterprise_count_band: CountBand | None
    """Band of the enterprises behind the ``all`` bucket; None when it is not published."""
    buckets: dict[str, BucketResult]
    your_position: PeerPosition | None
    """In the caller's industry bucket (falling back to ``all``); None without usage that month."""
    provider_positions: dict[Provider, PeerPosition]
    """In each of the caller's provider buckets (falling back to ``all``)."""
    market_index: MarketIndexView | None
    """Only when no published bucket positions the caller: the market index for the month, to compare with."""
    your_price_coverage: Decimal | None = None
    """The caller's share of billed token spend that month with an exact public list price; below 0.95 its figures
    did not enter the benchmark. None without shared usage that month."""

    @classmethod
    def of(cls, view: BenchmarkView) -> BenchmarkResponse:
        document = view.document
        everyone = document.bucket("all")
        index = view.market_index
        return cls(
            month=document.month,
            computed_at=document.computed_at,
            method_version=document.method_version,
            version=document.version,
            enterprise_count_band=everyone.count_band if everyone is not None else None,
            buckets=document.buckets,
            your_position=view.position,
            provider_positions=view.provider_positions,
            market_index=None if index is None else MarketIndexView(month=document.month, blended=index),
            your_price_coverage=None if view.price_coverage is None else view.price_coverage.quantize(COVERAGE_PLACES),
        )
