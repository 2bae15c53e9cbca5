"""The monthly report dispatcher: one named Cloud Tasks task per enterprise that receives the monthly email.

Cloud Scheduler calls ``reports_dispatch`` on the 2nd of each month (``infra/jobs.json``), after the providers'
late data for the previous month has settled; the body may name another ``month`` to re-run one. Each task asks
``report_worker`` to send that enterprise's report for the month. Task names derive from (enterprise, month), but
idempotency does not depend on them: the worker's delivery record (``shared.domain.reports.delivery``) makes a
second task for a sent report a no-op, so re-running the job sends nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from shared.config import Settings
from shared.errors import DependencyUnavailable
from shared.ports import Clock, ReportTargets, TaskQueue, TaskSpec

log = logging.getLogger(__name__)

REPORT_WORKER = "report_worker"
PAGE_SIZE = 500


class ReportsDispatchRequest(BaseModel):
    """The Cloud Scheduler job's body; ``month`` defaults to the previous calendar month (UTC)."""

    model_config = ConfigDict(extra="forbid")

    month: str | None = Field(default=None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")


class ReportTaskPayload(BaseModel):
    """A ``report_worker`` task's body."""

    model_config = ConfigDict(extra="forbid")

    enterprise_id: str = Field(min_length=1, max_length=200)
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ReportsDispatchResult:
    month: str
    enterprises: int
    created: int
    already_existed: int


def previous_month(today: date) -> str:
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def report_task(enterprise_id: str, month: str) -> TaskSpec:
    base = f"report-{enterprise_id}-{month}"
    return TaskSpec(
        name=f"{hashlib.sha256(base.encode()).hexdigest()[:8]}-{base}",
        function=REPORT_WORKER,
        payload=ReportTaskPayload(enterprise_id=enterprise_id, month=month).model_dump(),
    )


def dispatch_reports(
    targets: ReportTargets,
    queue: TaskQueue,
    clock: Clock,
    settings: Settings,
    request: ReportsDispatchRequest,
    *,
    page_size: int = PAGE_SIZE,
) -> ReportsDispatchResult:
    """Enqueue one report task per opted-in active enterprise for ``request.month``.

    Raises:
        DependencyUnavailable: Firestore failed or some tasks could not be enqueued; Cloud Scheduler's retry
            enqueues again and the workers skip what was already sent.
    """
    month = request.month or previous_month(clock.now().date())
    enterprises = created = existed = failed = 0
    for page in targets.pages(page_size=page_size):
        if not page:
            continue
        enterprises += len(page)
        result = queue.enqueue(settings.reports_queue, [report_task(eid, month) for eid in page])
        created += result.created
        existed += result.already_existed
        failed += len(result.failed)
    log.info(
        "monthly reports dispatched",
        extra={"month": month, "enterprises": enterprises, "tasks_created": created, "tasks_failed": failed},
    )
    if failed:
        raise DependencyUnavailable(f"{failed} of {enterprises} report tasks could not be enqueued")
    return ReportsDispatchResult(month, enterprises, created, existed)
