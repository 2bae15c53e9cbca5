"""Route of the ``retention_sweep`` function (Cloud Scheduler job ``retention``, daily): ``POST /`` deletes the usage
data past its retention and re-enqueues stalled erasures (``shared.services.enterprise.retention_sweep``).

The answer (and the log line) carries the counts. A sweep stopped by its time budget still answers 200, with
``complete: false``: the next run continues. 503 asks Cloud Scheduler to retry (the database failed, or an erase task
could not be enqueued).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.services.enterprise.retention_sweep import sweep_retention
from shared.web.context import RequestContext
from shared.web.router import Access, Router

router = Router("retention_sweep")


class SweepRequest(BaseModel):
    """The job's body (``infra/jobs.json``): empty, the retention periods are settings."""

    model_config = ConfigDict(extra="forbid")


@router.route(
    "POST",
    "/",
    access=Access.SCHEDULER,
    summary="Delete snapshots, rollups and raw responses past retention; re-enqueue stalled enterprise erasures",
    body=SweepRequest,
    errors=(400, 401, 403, 503),
    tags=("internal",),
)
def retention_sweep(ctx: RequestContext) -> dict[str, Any]:
    ctx.body_as(SweepRequest)
    deps = ctx.deps
    return sweep_retention(deps.retention, deps.tasks, deps.clock, deps.settings).as_dict()
