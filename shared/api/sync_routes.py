"""Routes of the two internal sync functions: ``sync_dispatch`` (Cloud Scheduler) and ``sync_worker`` (Cloud Tasks).

Each is reached at ``{FUNCTION_BASE_URL}/{function}``, so both serve ``POST /`` and accept only their invoker's OIDC
token. ``ROUTER_MODULES`` names one module per function: ``shared.api.sync_dispatch_routes`` and
``shared.api.sync_worker_routes`` expose the routers built here.

Status codes are what the callers' retry policies act on: 2xx acknowledges (including a provider that refused the
key: it is recorded, and retrying cannot help), 503 asks for a retry with backoff (rate limits, outages, timeouts,
our own backends), 400 is a malformed body (a bug in the caller).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.deps import Deps
from shared.services.alerts.deliver_alert import AlertDelivery
from shared.services.alerts.evaluate_alerts import EvaluateAlerts
from shared.services.connections.key_health import KeyHealth
from shared.services.peers.publish_index import publish_index
from shared.services.sync.dispatch_sync import DispatchRequest, dispatch_sync
from shared.services.sync.sync_coverage import SyncCoverageRecorder
from shared.services.sync.sync_enterprise import SyncEnterprise
from shared.services.sync.sync_report import SyncRequest
from shared.web import problems
from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

dispatch_router = Router("sync_dispatch")
worker_router = Router("sync_worker")

TASK_NAME_HEADER = "x-cloudtasks-taskname"
RETRY_COUNT_HEADER = "x-cloudtasks-taskretrycount"
"""How many times Cloud Tasks already tried this task (0 on the first attempt)."""


@dispatch_router.route(
    "POST",
    "/",
    access=Access.SCHEDULER,
    summary="Enqueue one sync task per enterprise with a connected provider (daily, or hourly enterprises)",
    body=DispatchRequest,
    errors=(400, 401, 403, 503),
    tags=("internal",),
)
def sync_dispatch(ctx: RequestContext) -> dict[str, Any]:
    body = ctx.body_as(DispatchRequest)
    deps = ctx.deps
    result = dispatch_sync(deps.sync_targets, deps.tasks, deps.clock, deps.settings, body.frequency)
    # The list-price index for the days the sync covers (today included), stored once per day for the API.
    today = deps.clock.now().date()
    published = publish_index(deps.indices, result.window.start, today + timedelta(days=1))
    return {
        "frequency": result.frequency,
        "window": {"start": result.window.start.isoformat(), "end": result.window.end.isoformat()},
        "enterprises": result.enterprises,
        "tasks_created": result.created,
        "tasks_existed": result.already_existed,
        "index_days_published": published,
        "seconds": round(result.seconds, 3),
    }


def sync_use_case(deps: Deps) -> SyncEnterprise:
    """The worker's use case wired from ``deps`` (tests pass fakes through ``build_web_app`` overrides)."""
    key_health = KeyHealth(
        enterprises=deps.enterprises,
        connections=deps.provider_connections,
        mailer=deps.mailer,
        clock=deps.clock,
        settings=deps.settings,
    )
    return SyncEnterprise(
        enterprises=deps.enterprises,
        connections=deps.provider_connections,
        secrets=deps.secrets,
        sources=deps.usage_source_factory,
        snapshots=deps.snapshots,
        leases=deps.leases,
        coverage=SyncCoverageRecorder(
            coverage=deps.coverage, mailer=deps.mailer, tasks=deps.tasks, clock=deps.clock, settings=deps.settings
        ),
        audit_log=deps.audit_log,
        key_health=key_health,
        tasks=deps.tasks,
        clock=deps.clock,
        settings=deps.settings,
        alerts=alert_use_case(deps),
    )


def alert_delivery(deps: Deps) -> AlertDelivery:
    """Alert sends (email, webhook, the webhook's retry task), wired from ``deps``."""
    return AlertDelivery(
        alerts=deps.alerts,
        alert_settings=deps.alert_settings,
        mailer=deps.mailer,
        webhooks=deps.webhooks,
        tasks=deps.tasks,
        clock=deps.clock,
        settings=deps.settings,
    )


def alert_use_case(deps: Deps) -> EvaluateAlerts:
    """Alerts evaluated after each sync, wired from ``deps``."""
    return EvaluateAlerts(
        snapshots=deps.snapshots,
        alert_settings=deps.alert_settings,
        alerts=deps.alerts,
        delivery=alert_delivery(deps),
        clock=deps.clock,
        settings=deps.settings,
    )


@worker_router.route(
    "POST",
    "/",
    access=Access.TASKS,
    summary="Sync one enterprise's provider usage for a window of days into snapshots and monthly rollups",
    body=SyncRequest,
    errors=(400, 401, 403, 503),
    tags=("internal",),
)
def sync_worker(ctx: RequestContext) -> dict[str, Any] | ApiResponse:
    body = ctx.body_as(SyncRequest)
    # Retries of one task share its name, so they rewrite the same key_read audit entry instead of adding one.
    task = ctx.request.headers.get(TASK_NAME_HEADER)
    read_id = task or f"{body.reason}-{body.start:%Y%m%d}-{body.end:%Y%m%d}"
    settings = ctx.deps.settings
    max_attempts = settings.task_max_attempts.get(settings.sync_queue)
    last_attempt = max_attempts is not None and retries(ctx.request.headers.get(RETRY_COUNT_HEADER)) + 1 >= max_attempts
    report = sync_use_case(ctx.deps).run(body, read_id=read_id, last_attempt=last_attempt)
    if report.retry:
        return problems.problem(
            503,
            "Sync incomplete",
            report.retry_code or "sync_incomplete",
            "some providers could not be synced now; what was read is stored and the task will be retried",
            sync=report.as_dict(),
        )
    return report.as_dict()


def retries(header: str | None) -> int:
    """Cloud Tasks' earlier attempts of this task."""
    # Set by Cloud Tasks on every delivery; absent on a direct call (then it counts as a first attempt).
    try:
        return max(int(header or 0), 0)
    except ValueError:
        return 0
