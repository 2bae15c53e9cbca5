"""Use case: an enterprise reads a month's published peer benchmark and its own position in it (R10, R11).

The published document is shown as stored (it holds only published figures: percentiles, noisy means, count
bands). For an enterprise that shares its figures, the position is computed on the fly from its own rollup for
that month, with the same figures the aggregation used, in its industry bucket (falling back to ``all``) and in each
of its providers' buckets. When no bucket positions it, the month's ``STCI-FRONTIER`` level from its rollup is
given instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shared.domain.enterprise.model import Industry
from shared.domain.peers.benchmarks import merge_unit, unit_metrics
from shared.domain.peers.models import BenchmarkDocument, industry_bucket, provider_bucket
from shared.domain.peers.position import PeerPosition, position_for
from shared.domain.usage.records import Provider
from shared.errors import NotFound
from shared.ports import BenchmarkStore, SnapshotStore
from shared.services.peers.aggregate_benchmarks import provider_rows


@dataclass(frozen=True)
class BenchmarkView:
    """A month's document with the reader's own position; ``market_index`` only when nothing positions it."""

    document: BenchmarkDocument
    position: PeerPosition | None
    provider_positions: dict[Provider, PeerPosition] = field(default_factory=dict)
    market_index: Decimal | None = None
    price_coverage: Decimal | None = None
    """The reader's own share of billed token spend with an exact list price that month (below 95 %: not in it)."""


def read_benchmark(
    benchmarks: BenchmarkStore,
    snapshots: SnapshotStore,
    enterprise_id: str,
    industry: Industry,
    shares: bool,
    month: str | None = None,
) -> BenchmarkView:
    """The document of ``month`` (None: the newest) and, if the enterprise shares its own figures, its position.

    An enterprise that does not share anonymous benchmarks sees the published figures but no position (its setting:
    "contribute to, and see a position in").

    Raises:
        NotFound: ``benchmark_not_available`` when no benchmark exists for the month.
    """
    document = benchmarks.latest() if month is None else benchmarks.get(month)
    if document is None:
        raise NotFound("no peer benchmark has been published for this month", code="benchmark_not_available")
    rollup = snapshots.month(enterprise_id, document.month)
    rows = provider_rows(enterprise_id, rollup.by_provider) if rollup is not None and shares else []
    position: PeerPosition | None = None
    by_provider: dict[Provider, PeerPosition] = {}
    coverage: Decimal | None = None
    if rows:
        unit = merge_unit(enterprise_id, industry, rows)
        coverage = unit.usage.price_coverage
        own = unit_metrics(unit.usage)
        if own:
            position = position_for(document, own, [industry_bucket(industry)])
        for provider, figures in unit.by_provider.items():
            metrics = unit_metrics(figures)
            if metrics:
                by_provider[provider] = position_for(document, metrics, [provider_bucket(provider)])
    index = None
    if rollup is not None and (position is None or position.market_index_only):
        index = rollup.benchmark.stci_frontier_blended
    return BenchmarkView(document, position, by_provider, index, coverage)
