"""Budget, alert-settings and alert-history routes of the ``api`` function.

Included into ``shared.api.api_routes.router``. Members (viewers and admins) read the budgets and the alerts; only
admins replace the budgets and the webhook. The webhook's URL and signing secret are never returned, except the
secret once, in the response of the save that generated it.
"""

from __future__ import annotations

from pydantic import BaseModel

from shared.api.alert_schemas import AlertsQuery, AlertsResponse, AlertView, BudgetsRequest, BudgetsResponse
from shared.services.alerts.alert_history import list_alerts
from shared.services.alerts.alert_settings import UNCHANGED, get_alert_settings, save_alert_settings
from shared.web.context import RequestContext
from shared.web.router import Access, Router

router = Router("api")

BUDGETS = "/api/v1/enterprise/budgets"


@router.route(
    "GET",
    BUDGETS,
    access=Access.MEMBER,
    summary="Monthly budgets with their warning and critical thresholds, the spike-alert switch and the webhook's host",
    response=BudgetsResponse,
    tags=("alerts",),
)
def get_budgets(ctx: RequestContext) -> BaseModel:
    settings = ctx.deps.settings
    found = get_alert_settings(ctx.deps.alert_settings, ctx.require_membership().enterprise_id)
    return BudgetsResponse.of(
        found, warning=settings.alert_budget_warning_percent, critical=settings.alert_budget_critical_percent
    )


@router.route(
    "PUT",
    BUDGETS,
    access=Access.ADMIN,
    summary="Replace the budgets and alert settings; a new webhook signing secret is returned once",
    body=BudgetsRequest,
    response=BudgetsResponse,
    errors=(409,),
    tags=("alerts",),
)
def put_budgets(ctx: RequestContext) -> BaseModel:
    body = ctx.body_as(BudgetsRequest)
    settings = ctx.deps.settings
    saved = save_alert_settings(
        ctx.deps.alert_settings,
        ctx.deps.clock,
        settings,
        ctx.require_user(),
        ctx.require_membership().enterprise_id,
        budgets=[b.draft() for b in body.budgets],
        anomaly_alerts=body.anomaly_alerts,
        webhook_url=body.webhook_url if "webhook_url" in body.model_fields_set else UNCHANGED,
        rotate_webhook_secret=body.rotate_webhook_secret,
    )
    return BudgetsResponse.of(
        saved.settings,
        warning=settings.alert_budget_warning_percent,
        critical=settings.alert_budget_critical_percent,
        signing_secret=saved.signing_secret.get_secret_value() if saved.signing_secret else None,
    )


@router.route(
    "GET",
    "/api/v1/enterprise/alerts",
    access=Access.MEMBER,
    summary="Budget and spend-spike alerts, newest first, with each channel's delivery state",
    query=AlertsQuery,
    response=AlertsResponse,
    tags=("alerts",),
)
def get_alerts(ctx: RequestContext) -> BaseModel:
    query = ctx.query_as(AlertsQuery)
    page = list_alerts(
        ctx.deps.alerts, ctx.require_membership().enterprise_id, limit=query.limit, page_token=query.page_token
    )
    return AlertsResponse(alerts=[AlertView.of(a) for a in page.alerts], next_page_token=page.next_page_token)
