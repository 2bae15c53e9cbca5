"""Populations for the disclosure attacks: units whose price ratio (billed / list) the attacker or the test chooses.

A unit with list cost ``list_usd`` and ratio ``rho`` bills ``list_usd * rho``; its tokens scale with its list cost
(300M input and 100M output per $1,000), 60% of the bill on the input side.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from shared.domain.enterprise.model import Industry
from shared.domain.peers.benchmarks import compute_benchmarks
from shared.domain.peers.models import BenchmarkDocument, BenchmarkUnit, DisclosureParams, UsageFigures
from shared.domain.usage.records import Provider

MONTH = "2026-01"
COMPUTED_AT = datetime(2026, 2, 4, tzinfo=UTC)
KEY = b"privacy-test-noise-key"
PARAMS = DisclosureParams()


def figures(rho: Decimal, list_usd: Decimal = Decimal(1000)) -> UsageFigures:
    billed = list_usd * rho
    scale = list_usd / 1000
    return UsageFigures(
        billed_usd=billed,
        list_usd=list_usd,
        input_tokens=int(300_000_000 * scale),
        output_tokens=int(100_000_000 * scale),
        input_billed_usd=billed * Decimal("0.6"),
        output_billed_usd=billed * Decimal("0.4"),
    )


def unit(eid: str, rho: Decimal, industry: Industry = Industry.FINANCE, **extra: object) -> BenchmarkUnit:
    fields: dict[str, object] = {
        "enterprise_id": eid,
        "industry": industry,
        "providers": frozenset({Provider.OPENAI}),
        "usage": figures(rho),
        "admin_domains": frozenset({f"{eid}.example"}),
        **extra,
    }
    return BenchmarkUnit.model_validate(fields)


def off_grid(
    n: int, industry: Industry = Industry.FINANCE, prefix: str = "e", start: str = "0.7013"
) -> list[BenchmarkUnit]:
    """``n`` units with ratios off the 2-significant-figure grid (0.7013, 0.7120, ...)."""
    return [unit(f"{prefix}{i:03}", Decimal(start) + Decimal("0.0107") * i, industry) for i in range(n)]


def compute(units: Iterable[BenchmarkUnit], key: bytes = KEY, month: str = MONTH) -> BenchmarkDocument:
    return compute_benchmarks(list(units), month, PARAMS, key, COMPUTED_AT)


def published_figures(document: BenchmarkDocument) -> list[Decimal]:
    found: list[Decimal] = []
    for bucket in document.buckets.values():
        for metric in bucket.metrics.values():
            found.extend(metric.percentiles.values())
            found.extend(
                v for v in (metric.mean, metric.weighted_mean, metric.average_discount_vs_list) if v is not None
            )
    return found
