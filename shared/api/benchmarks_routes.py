"""Route of the ``benchmarks_aggregate`` function (Cloud Scheduler, monthly): ``POST /`` computes a month's benchmark.

A month that has not settled yet is acknowledged with ``status: not_settled`` and nothing written (200: a retry
cannot help before the settle delay; the next run or a later manual call will aggregate it). A published month is
frozen: the same inputs answer ``unchanged``; changed inputs are refused with 409 ``benchmark_month_frozen`` unless
the body says ``force`` with a ``reason`` (ADR 0019).
"""

from __future__ import annotations

from typing import Any

from shared.api.benchmark_schemas import AggregateRequest
from shared.services.peers.aggregate_benchmarks import aggregate_benchmarks
from shared.web.context import RequestContext
from shared.web.router import Access, Router

router = Router("benchmarks_aggregate")


@router.route(
    "POST",
    "/",
    access=Access.SCHEDULER,
    summary="Aggregate a settled month's anonymous peer benchmark into benchmarks/{YYYY-MM} (default: last month)",
    body=AggregateRequest,
    errors=(400, 401, 403, 409, 503),
    tags=("internal",),
)
def benchmarks_aggregate(ctx: RequestContext) -> dict[str, Any]:
    body = ctx.body_as(AggregateRequest)
    deps = ctx.deps
    result = aggregate_benchmarks(
        deps.benchmarks, deps.clock, deps.settings, body.month, force=body.force, reason=body.reason
    )
    # Counts of participants stay in this internal answer (and the logs); they are never published.
    return {
        "month": result.month,
        "status": result.status,
        "settles_at": result.settles_at.isoformat(),
        "participants": result.participants,
        "units": result.units,
        "published_buckets": result.published_buckets,
        "version": result.version,
    }
