"""Route of the ``enterprise_erase`` function (Cloud Tasks, queue ``Settings.erase_queue``): ``POST /`` erases one
enterprise for good (``shared.services.enterprise.erase_enterprise``).

It is deployed from the ``connect`` source and runs as the ``connect`` identity, the only one allowed to destroy
provider keys (ADR 0001). Statuses are what Cloud Tasks acts on: 200 = erased, or nothing left to erase (a retry or
a duplicate delivery); 503 = retry later (the enterprise is still active or just closed, or a backend failed); 400 =
a malformed body (a bug in the caller).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.services.enterprise.erase_enterprise import erase_enterprise
from shared.web.context import RequestContext
from shared.web.router import Access, Router

router = Router("enterprise_erase")


class EraseRequest(BaseModel):
    """The task's body, as ``shared.services.enterprise.erasure_request.erase_task`` builds it."""

    model_config = ConfigDict(extra="forbid")

    enterprise_id: Annotated[str, StringConstraints(min_length=1, max_length=1500, pattern=r"^[^/]+$")]


@router.route(
    "POST",
    "/",
    access=Access.TASKS,
    summary="Erase a closing enterprise: destroy its provider keys, delete all its documents, leave a tombstone",
    body=EraseRequest,
    errors=(400, 401, 403, 503),
    tags=("internal",),
)
def enterprise_erase(ctx: RequestContext) -> dict[str, Any]:
    body = ctx.body_as(EraseRequest)
    deps = ctx.deps
    result = erase_enterprise(
        body.enterprise_id,
        enterprises=deps.enterprises,
        erasures=deps.erasures,
        secrets=deps.secrets,
        clock=deps.clock,
        page_size=deps.settings.retention_page_size,
        settle=timedelta(seconds=deps.settings.erasure_settle_s),
    )
    return {
        "enterprise_id": result.enterprise_id,
        "outcome": result.outcome,
        "secret_versions_destroyed": result.secret_versions_destroyed,
        "documents_deleted": result.documents_deleted,
    }
