"""An enterprise's position among its peers (R10, R11), read only from the published document.

The position is a band against the published percentile points ("between p50 and p75") and, inside the published
range, a percentile interpolated linearly between those points. It never uses contributors' values, so it cannot be
an exact rank. Both metrics are costs: LOWER is better. ``percentile`` is the share of peers at or below the
enterprise's value; ``share_paying_more_pct = 100 - percentile`` is the share of peers that pay more ("better than").

Outside the published range no percentile is given, only "below p10" / "above p90" (or p25/p75 when the tails are
not published). When the bucket (or its metric) is not published the position falls back to the nearest published
ancestor (``industry:x`` and ``provider:y`` fall back to ``all``) and says which bucket it used; when nothing is
published it says so, and the API shows the market index only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.peers import disclosure
from shared.domain.peers.models import ALL, PERCENTILES, BenchmarkDocument, Metric, PublishedFigure

INTERPOLATION_METHOD = "linear interpolation between published percentile points"
_QUANTILE = dict(PERCENTILES)


class MetricPosition(BaseModel):
    """Where one of the enterprise's metrics sits among its peers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Metric
    status: Literal["positioned", "no_published_benchmark"]
    value: PublishedFigure
    """The enterprise's own exact value (shown to it alone)."""
    bucket_used: str | None = None
    fell_back: bool = False
    """True when the requested bucket was not published and an ancestor was used."""
    band: str | None = None
    percentile: int | None = None
    """Share of peers at or below this value (%), interpolated; None outside the published range."""
    share_paying_more_pct: int | None = None
    """``100 - percentile``: lower is better, so this is the share of peers the enterprise beats."""
    method: str = INTERPOLATION_METHOD
    summary: str


class PeerPosition(BaseModel):
    """The enterprise's position for each metric it has a value for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    month: str
    lower_is_better: Literal[True] = True
    market_index_only: bool
    """True when no bucket publishes any of the metrics: show the market index only."""
    metrics: dict[Metric, MetricPosition]


def ancestry(buckets: Sequence[str]) -> tuple[str, ...]:
    """The requested buckets, most specific first, each followed by its ancestors (``all``), without repeats."""
    ordered: list[str] = []
    for bucket in (*buckets, ALL):
        if bucket not in ordered:
            ordered.append(bucket)
    return tuple(ordered)


def position_for(
    document: BenchmarkDocument, unit_metrics: Mapping[Metric, Decimal], unit_buckets: Sequence[str]
) -> PeerPosition:
    """Position the enterprise's metrics in its own bucket, falling back to the nearest published ancestor.

    Args:
        document: the month's published benchmark.
        unit_metrics: the enterprise's own values (``benchmarks.unit_metrics``; per-provider figures for a
            provider bucket).
        unit_buckets: the bucket(s) to position in, most specific first, e.g. ``["industry:finance"]`` or
            ``["provider:openai"]``; ``all`` is always the last resort.
    """
    candidates = ancestry(unit_buckets)
    with localcontext(disclosure.DECIMAL_CONTEXT):
        positions = {
            metric: _position(document, metric, unit_metrics[metric], candidates)
            for metric in Metric
            if metric in unit_metrics
        }
    nothing = all(position.status == "no_published_benchmark" for position in positions.values())
    return PeerPosition(month=document.month, market_index_only=nothing, metrics=positions)


def _points(document: BenchmarkDocument, bucket: str, metric: Metric) -> list[tuple[str, Decimal]]:
    result = document.bucket(bucket)
    if result is None or result.status != "published" or metric not in result.metrics:
        return []
    return list(result.metrics[metric].percentiles.items())


def _position(document: BenchmarkDocument, metric: Metric, value: Decimal, candidates: Sequence[str]) -> MetricPosition:
    for bucket in candidates:
        points = _points(document, bucket, metric)
        if points:
            band, percentile = _locate(value, points)
            return _positioned(metric, value, bucket, bucket != candidates[0], band, percentile)
    return MetricPosition(
        metric=metric,
        status="no_published_benchmark",
        value=value,
        summary="Not enough peers have published figures this month; compare with the market index instead.",
    )


def _locate(value: Decimal, points: Sequence[tuple[str, Decimal]]) -> tuple[str, Decimal | None]:
    """The band and, inside the published range, the interpolated percentile (0-100)."""
    first, last = points[0], points[-1]
    if value < first[1]:
        return f"below {first[0]}", None
    if value > last[1]:
        return f"above {last[0]}", None
    equal = [name for name, point in points if point == value]
    if equal:
        percentile = sum((_QUANTILE[name] for name in equal), Decimal(0)) / len(equal) * 100
        band = f"at {equal[0]}" if len(equal) == 1 else f"at {equal[0]}–{equal[-1]}"
        return band, percentile
    for (low_name, low), (high_name, high) in pairwise(points):
        if low < value < high:
            share = (value - low) / (high - low)
            percentile = (_QUANTILE[low_name] + (_QUANTILE[high_name] - _QUANTILE[low_name]) * share) * 100
            return f"between {low_name} and {high_name}", percentile
    raise AssertionError("published percentile points are monotone")  # pragma: no cover


def _positioned(
    metric: Metric, value: Decimal, bucket: str, fell_back: bool, band: str, percentile: Decimal | None
) -> MetricPosition:
    whole = None if percentile is None else int(percentile.to_integral_value(rounding=ROUND_HALF_EVEN))
    if whole is None:
        edge = int(_QUANTILE[band.split()[-1]] * 100)
        below = band.startswith("below")
        share, who = (100 - edge, "pay more") if below else (edge, "pay less")
        summary = f"{band} in {bucket}: about {share}% or more of peers {who} (lower is better)."
    else:
        summary = f"{band} in {bucket}: about {100 - whole}% of peers pay more (lower is better)."
    return MetricPosition(
        metric=metric,
        status="positioned",
        value=value,
        bucket_used=bucket,
        fell_back=fell_back,
        band=band,
        percentile=whole,
        share_paying_more_pct=None if whole is None else 100 - whole,
        summary=summary,
    )
