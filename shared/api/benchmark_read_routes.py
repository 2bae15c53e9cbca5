"""Peer benchmark reads of the ``api`` function: ``/api/v1/benchmarks/current`` and ``/api/v1/benchmarks/{month}``.

Included into ``shared.api.api_routes.router``. Any member of the selected enterprise may read them; the position
is always the selected enterprise's own.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from shared.api.benchmark_schemas import BenchmarkResponse
from shared.errors import NotFound
from shared.services.enterprise import enterprises
from shared.services.peers.read_benchmarks import read_benchmark
from shared.web.context import RequestContext
from shared.web.router import Access, Router

router = Router("api")

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _respond(ctx: RequestContext, month: str | None) -> BaseModel:
    enterprise_id = ctx.require_membership().enterprise_id
    enterprise = enterprises.get_enterprise(ctx.deps.enterprises, enterprise_id)
    shares = enterprise.settings.share_anonymous_benchmarks
    view = read_benchmark(ctx.deps.benchmarks, ctx.deps.snapshots, enterprise_id, enterprise.industry, shares, month)
    return BenchmarkResponse.of(view)


# Declared before ``{month}``: the first matching route wins, and "current" would match the template too.
@router.route(
    "GET",
    "/api/v1/benchmarks/current",
    access=Access.MEMBER,
    summary="The newest anonymous peer benchmark and the enterprise's position in it (lower rates are better)",
    response=BenchmarkResponse,
    errors=(400, 401, 404, 503),
    tags=("benchmarks",),
)
def get_current_benchmark(ctx: RequestContext) -> BaseModel:
    return _respond(ctx, None)


@router.route(
    "GET",
    "/api/v1/benchmarks/{month}",
    access=Access.MEMBER,
    summary="The anonymous peer benchmark of a month (YYYY-MM) and the enterprise's position in it",
    response=BenchmarkResponse,
    errors=(400, 401, 404, 503),
    tags=("benchmarks",),
)
def get_month_benchmark(ctx: RequestContext) -> BaseModel:
    month = ctx.request.path_params["month"]
    if not _MONTH.fullmatch(month):
        # Not a month, so there is no benchmark for it: the same answer as a month never aggregated.
        raise NotFound("no peer benchmark has been published for this month", code="benchmark_not_available")
    return _respond(ctx, month)
