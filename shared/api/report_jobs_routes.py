"""Routes of the two internal report functions: ``reports_dispatch`` (Cloud Scheduler) and ``report_worker``
(Cloud Tasks), each reached at ``{FUNCTION_BASE_URL}/{function}`` with its invoker's OIDC token.

Status codes drive the callers' retries: 200 acknowledges (sent, already sent, skipped, or failed for good and
recorded), 503 asks Cloud Tasks to retry with backoff (mail relay or database unavailable, another worker sending).
"""

from __future__ import annotations

from typing import Any

from shared.deps import Deps
from shared.services.reports.dispatch_reports import ReportsDispatchRequest, ReportTaskPayload, dispatch_reports
from shared.services.reports.send_monthly_report import SendMonthlyReport
from shared.web.context import RequestContext
from shared.web.router import Access, Router

dispatch_router = Router("reports_dispatch")
worker_router = Router("report_worker")


@dispatch_router.route(
    "POST",
    "/",
    access=Access.SCHEDULER,
    summary="Enqueue one monthly report task per enterprise that receives the email (default: last month)",
    body=ReportsDispatchRequest,
    errors=(400, 401, 403, 503),
    tags=("internal",),
)
def reports_dispatch(ctx: RequestContext) -> dict[str, Any]:
    body = ctx.body_as(ReportsDispatchRequest)
    deps = ctx.deps
    result = dispatch_reports(deps.report_targets, deps.tasks, deps.clock, deps.settings, body)
    return {
        "month": result.month,
        "enterprises": result.enterprises,
        "tasks_created": result.created,
        "tasks_existed": result.already_existed,
    }


def send_use_case(deps: Deps) -> SendMonthlyReport:
    return SendMonthlyReport(
        enterprises=deps.enterprises,
        snapshots=deps.snapshots,
        benchmarks=deps.benchmarks,
        reports=deps.report_log,
        mailer=deps.mailer,
        clock=deps.clock,
        settings=deps.settings,
        coverage=deps.coverage,
    )


@worker_router.route(
    "POST",
    "/",
    access=Access.TASKS,
    summary="Build and email one enterprise's monthly report, exactly once",
    body=ReportTaskPayload,
    errors=(400, 401, 403, 503),
    tags=("internal",),
)
def report_worker(ctx: RequestContext) -> dict[str, Any]:
    body = ctx.body_as(ReportTaskPayload)
    result = send_use_case(ctx.deps).run(body.enterprise_id, body.month)
    return {"outcome": result.outcome, "month": result.month, "attempts": result.attempts, "code": result.code}
