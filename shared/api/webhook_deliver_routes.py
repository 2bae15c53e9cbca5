"""Route of the ``webhook_deliver`` function (Cloud Tasks, queue ``Settings.webhook_queue``): ``POST /`` retries one
alert's webhook (``shared.services.alerts.webhook_retry``).

Deployed from the ``sync`` source, it runs as the ``sync`` identity, which already reads alerts and webhook targets.
200 = sent, failed for good (recorded on the alert), or nothing to do (a duplicate delivery); 503 = the receiver
failed transiently, or another delivery is sending it now: Cloud Tasks retries with the queue's backoff; 400 = a
malformed body (a bug in the caller).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.api.sync_routes import RETRY_COUNT_HEADER, alert_delivery, retries
from shared.deps import Deps
from shared.services.alerts.webhook_retry import WebhookRetry
from shared.web import problems
from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

router = Router("webhook_deliver")

DocumentId = Annotated[str, StringConstraints(min_length=1, max_length=1500, pattern=r"^[^/]+$")]


class WebhookTaskRequest(BaseModel):
    """The task's body, as ``shared.services.alerts.webhook_retry.webhook_task`` builds it."""

    model_config = ConfigDict(extra="forbid")

    enterprise_id: DocumentId
    alert_id: DocumentId


def webhook_retry_use_case(deps: Deps) -> WebhookRetry:
    return WebhookRetry(
        alerts=deps.alerts,
        enterprises=deps.enterprises,
        delivery=alert_delivery(deps),
        clock=deps.clock,
        settings=deps.settings,
    )


@router.route(
    "POST",
    "/",
    access=Access.TASKS,
    summary="Retry an alert's webhook whose send failed, once per delivery, until the queue's last attempt",
    body=WebhookTaskRequest,
    errors=(400, 401, 403, 503),
    tags=("internal",),
)
def webhook_deliver(ctx: RequestContext) -> dict[str, Any] | ApiResponse:
    body = ctx.body_as(WebhookTaskRequest)
    settings = ctx.deps.settings
    max_attempts = settings.task_max_attempts.get(settings.webhook_queue)
    attempt = retries(ctx.request.headers.get(RETRY_COUNT_HEADER)) + 1
    last_attempt = max_attempts is not None and attempt >= max_attempts
    outcome = webhook_retry_use_case(ctx.deps).run(body.enterprise_id, body.alert_id, last_attempt=last_attempt)
    if outcome in ("retry", "busy"):
        return problems.problem(
            503,
            "Webhook not delivered yet",
            "webhook_retry" if outcome == "retry" else "webhook_busy",
            "the receiver did not accept the alert now, or another attempt is under way; the task will be retried",
        )
    return {"outcome": outcome}
