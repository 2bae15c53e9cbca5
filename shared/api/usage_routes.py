"""Usage read routes of the ``api`` function: a date range's usage, its FOCUS-style CSV, last month's savings.

Included into ``shared.api.api_routes.router``. Members (viewers and admins) of the selected enterprise may read.
Money and ratios are decimal strings in JSON, never floats.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shared.api.fields import ApiDate, ShortText
from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.tally import Money, Ratio
from shared.domain.usage.view import UsageReport
from shared.services.usage.usage_report import last_month_recommendations, usage_csv, usage_for_range
from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

router = Router("api")

_READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="usage-reads")
"""Reads a usage request overlaps with its rollups read (the sync coverage records); threads start on first use."""


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: ApiDate
    """First day, inclusive (``YYYY-MM-DD``, UTC)."""
    end: ApiDate
    """Last day, inclusive; at most 24 months after ``start``."""
    provider: ProviderName | None = None
    model: ShortText | None = None


class CsvQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: ApiDate
    end: ApiDate


class Recommendation(BaseModel):
    kind: str
    """``cache``, ``batch`` or ``model_mix``."""
    savings_usd: Money
    """Estimated USD saved over the month, had the change been made."""


class RecommendationsResponse(BaseModel):
    month: str
    """The last complete calendar month (UTC), ``YYYY-MM``."""
    has_data: bool
    potential_savings_usd: Money
    cache_hit_rate: Ratio | None
    batch_share: Ratio | None
    recommendations: list[Recommendation]
    """Largest saving first."""


@router.route(
    "GET",
    "/api/v1/enterprise/usage",
    access=Access.MEMBER,
    summary="Usage, effective rates, discount vs list, breakdowns and the month-end forecast for a date range",
    query=UsageQuery,
    response=UsageReport,
    errors=(400, 401, 404, 503),
    tags=("usage",),
)
def get_usage(ctx: RequestContext) -> BaseModel:
    query = ctx.query_as(UsageQuery)
    enterprise_id = ctx.require_membership().enterprise_id
    provider = query.provider.value if query.provider else None
    return usage_for_range(
        ctx.deps.snapshots,
        enterprise_id,
        query.start,
        query.end,
        provider=provider,
        model=query.model,
        forecast_on=ctx.deps.clock.now().date(),
        forecast_history_days=ctx.deps.settings.alert_forecast_history_days,
        coverage=_READS.submit(ctx.deps.coverage.all, enterprise_id).result,
    )


@router.route(
    "GET",
    "/api/v1/enterprise/usage.csv",
    access=Access.MEMBER,
    summary="Daily usage as FOCUS-style CSV: one row per day, provider, model and token type",
    query=CsvQuery,
    errors=(400, 401, 404, 503),
    content_types=("text/csv",),
    tags=("usage",),
)
def get_usage_csv(ctx: RequestContext) -> ApiResponse:
    query = ctx.query_as(CsvQuery)
    enterprise_id = ctx.require_membership().enterprise_id
    text = usage_csv(ctx.deps.snapshots, enterprise_id, query.start, query.end, ctx.deps.coverage.all(enterprise_id))
    response = ApiResponse(status=200, body=text.encode(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="usage_{query.start}_{query.end}.csv"'
    return response


@router.route(
    "GET",
    "/api/v1/enterprise/recommendations",
    access=Access.MEMBER,
    summary="Optimisation opportunities with their USD savings for the last complete month",
    response=RecommendationsResponse,
    errors=(401, 404, 503),
    tags=("usage",),
)
def get_recommendations(ctx: RequestContext) -> BaseModel:
    found = last_month_recommendations(ctx.deps.snapshots, ctx.deps.clock, ctx.require_membership().enterprise_id)
    opt = found.optimization
    savings = opt.savings_by_opportunity if opt else {}
    return RecommendationsResponse(
        month=found.month,
        has_data=opt is not None,
        potential_savings_usd=opt.potential_savings_usd if opt else Decimal(0),
        cache_hit_rate=opt.cache_hit_rate if opt else None,
        batch_share=opt.batch_share if opt else None,
        recommendations=[
            Recommendation(kind=k, savings_usd=v) for k, v in sorted(savings.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )
