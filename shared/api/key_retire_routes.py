"""Route of the ``key_retire`` function (Cloud Tasks, queue ``Settings.retire_queue``): ``POST /`` destroys a
provider key's version that a rotation replaced, once its grace period is over
(``shared.services.connections.retire_key_version``).

Deployed from the ``connect`` source, it runs as the ``connect`` identity, the only one allowed to destroy provider
keys (ADR 0001). 200 = destroyed, or nothing to do (re-enabled, already destroyed, a duplicate delivery); 503 =
retry later (a backend failed); 400 = a malformed body or a version of another key (a bug in the caller).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.domain.enterprise.model import ProviderName
from shared.services.connections.retire_key_version import retire_key_version
from shared.web.context import RequestContext
from shared.web.router import Access, Router

router = Router("key_retire")


class RetireRequest(BaseModel):
    """The task's body, as ``shared.services.connections.retire_key_version.retire_task`` builds it."""

    model_config = ConfigDict(extra="forbid")

    enterprise_id: Annotated[str, StringConstraints(min_length=1, max_length=1500, pattern=r"^[^/]+$")]
    provider: ProviderName
    version: Annotated[str, StringConstraints(pattern=r"^projects/[^/]+/secrets/[^/]+/versions/\d+$")]


@router.route(
    "POST",
    "/",
    access=Access.TASKS,
    summary="Destroy a provider key's version replaced by a rotation, once its grace period is over",
    body=RetireRequest,
    errors=(400, 401, 403, 503),
    tags=("internal",),
)
def key_retire(ctx: RequestContext) -> dict[str, Any]:
    body = ctx.body_as(RetireRequest)
    result = retire_key_version(
        body.enterprise_id,
        body.provider,
        body.version,
        secrets=ctx.deps.secrets,
        connections=ctx.deps.provider_connections,
    )
    return {"outcome": result.outcome}
