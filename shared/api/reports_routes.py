"""Routes of the public ``reports`` function: the list of monthly reports and one report as JSON, HTML, CSV or PDF.

The front door sends ``/api/v1/enterprise/reports`` here (``infra/routes.json``): rendering charts and PDFs needs
more memory than the ``api`` function, and a slow export must not hold the API's instances. Members (viewers and
admins) of the selected enterprise may read. The format comes from ``format=`` or, failing that, the ``Accept``
header (JSON by default); an ``Accept`` nothing satisfies is a 406.
"""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, ConfigDict

from shared.domain.reports.monthly import MonthlyReport
from shared.errors import NotAcceptable
from shared.services.enterprise import enterprises
from shared.services.reports.report_exports import (
    MEDIA_TYPES,
    Export,
    ExportFormat,
    ReportList,
    export_report,
    list_reports,
)
from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

router = Router("reports")

REPORTS = "/api/v1/enterprise/reports"


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ExportFormat | None = None
    """``json``, ``html``, ``csv`` or ``pdf``; overrides the ``Accept`` header."""


def negotiate(accept: str | None) -> ExportFormat:
    """The format an ``Accept`` header prefers among ours (ties keep the header's order); JSON for none or ``*/*``."""
    if not accept or not accept.strip():
        return "json"
    by_type = {media: fmt for fmt, media in MEDIA_TYPES.items()}
    choices: list[tuple[float, int, ExportFormat]] = []
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if quality <= 0:
            continue
        if media in by_type:
            choices.append((quality, position, by_type[media]))
        elif media in {"*/*", "application/*"}:
            choices.append((quality - 0.001, position, "json"))
        elif media == "text/*":
            choices.append((quality - 0.001, position, "html"))
    if not choices:
        raise NotAcceptable(
            f"reports are available as {', '.join(MEDIA_TYPES.values())}; use format= or one of these in Accept"
        )
    return max(choices, key=lambda c: (c[0], -c[1]))[2]


@router.route(
    "GET",
    REPORTS,
    access=Access.MEMBER,
    summary="Monthly reports: every month with usage (newest first), with the monthly email's delivery state",
    response=ReportList,
    errors=(401, 404, 503),
    tags=("reports",),
)
def get_reports(ctx: RequestContext) -> BaseModel:
    enterprise_id = ctx.require_membership().enterprise_id
    return list_reports(ctx.deps.report_log, ctx.deps.clock, enterprise_id, REPORTS)


@router.route(
    "GET",
    REPORTS + "/{month}",
    access=Access.MEMBER,
    summary="One month's report (YYYY-MM) as JSON, HTML, CSV or PDF, by format= or the Accept header",
    query=ReportQuery,
    response=MonthlyReport,
    errors=(400, 401, 404, 406, 503),
    content_types=tuple(MEDIA_TYPES[f] for f in get_args(ExportFormat)),
    tags=("reports",),
)
def get_report(ctx: RequestContext) -> BaseModel | ApiResponse:
    query = ctx.query_as(ReportQuery)
    fmt = query.format or negotiate(ctx.request.headers.get("accept"))
    enterprise = enterprises.get_enterprise(ctx.deps.enterprises, ctx.require_membership().enterprise_id)
    deps = ctx.deps
    month = ctx.request.path_params["month"]
    coverage = deps.coverage.all(enterprise.id)
    found = export_report(deps.snapshots, deps.benchmarks, deps.clock, deps.settings, enterprise, month, fmt, coverage)
    if not isinstance(found, Export):
        return found
    response = ApiResponse(status=200, body=found.body, content_type=found.media_type)
    disposition = "inline" if fmt == "html" else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{found.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
