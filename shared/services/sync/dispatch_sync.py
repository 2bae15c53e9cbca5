"""The sync dispatcher: one named Cloud Tasks task per enterprise with a connected provider and sync window.

Cloud Scheduler calls ``sync_dispatch`` daily at 02:00 UTC (``{"frequency": "daily"}``, every active enterprise) and
hourly (``{"frequency": "hourly"}``, enterprises whose ``settings.sync_frequency`` is ``hourly``). Each task asks
``sync_worker`` for the window the providers may still restate:

* daily on day D: ``[D - sync_repull_days, D)``, the completed days;
* hourly at hour H of day D: ``[D - sync_hourly_repull_days, D + 1)``: only what can have changed since the daily
  run, today's partial day and the day before it (whose last hours arrive after midnight). The older days the
  providers may restate are the daily run's: re-pulling all of them every hour quadrupled the hourly work. When
  per-day settlement records exist (a day the providers will not restate any more), the hourly start becomes the
  oldest unsettled day; this function is the one place that changes.

Task names derive from (enterprise, frequency, run day or hour), so re-running the dispatcher (a Scheduler retry, a
manual trigger) names the same tasks and Cloud Tasks refuses the duplicates. A short hash leads the name because
Cloud Tasks serves names with a common prefix from one key range.

Enterprises are read a page at a time (only the providers' status fields) and each page is enqueued while the next
one is read; the queue adapter creates a page's tasks concurrently. If some tasks could not be created the
dispatch fails with ``DependencyUnavailable`` (503) after trying them all, and Cloud Scheduler's retry re-enqueues
only what is missing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.config import Settings
from shared.domain.sync.backfill import SYNC_WORKER
from shared.errors import DependencyUnavailable
from shared.ports import Clock, EnqueueResult, SyncTarget, SyncTargets, TaskQueue, TaskSpec

log = logging.getLogger(__name__)

Frequency = Literal["daily", "hourly"]
PAGE_SIZE = 1000
PAGES_IN_FLIGHT = 2
"""Pages being enqueued while the next is read: enough to overlap reads with task creation."""


class DispatchRequest(BaseModel):
    """The Cloud Scheduler job's body (``infra/jobs.json``)."""

    model_config = ConfigDict(extra="forbid")

    frequency: Frequency


@dataclass(frozen=True)
class SyncWindow:
    start: date
    end: date
    """Exclusive."""
    key: str
    """The run's day (daily) or hour (hourly), part of every task name."""


@dataclass(frozen=True)
class DispatchResult:
    frequency: Frequency
    window: SyncWindow
    enterprises: int
    created: int
    already_existed: int
    failed: int
    seconds: float


def sync_window(frequency: Frequency, now: datetime, repull_days: int, hourly_repull_days: int = 1) -> SyncWindow:
    """The window a ``frequency`` run at ``now`` (UTC) syncs; see the module docstring."""
    today = now.date()
    if frequency == "daily":
        return SyncWindow(today - timedelta(days=repull_days), today, today.isoformat())
    start = today - timedelta(days=hourly_repull_days)
    return SyncWindow(start, today + timedelta(days=1), f"{today.isoformat()}T{now.hour:02d}")


def sync_task_name(enterprise_id: str, frequency: Frequency, window: SyncWindow) -> str:
    base = f"sync-{enterprise_id}-{frequency}-{window.key}"
    return f"{hashlib.sha256(base.encode()).hexdigest()[:8]}-{base}"


def sync_task(target: SyncTarget, frequency: Frequency, window: SyncWindow) -> TaskSpec:
    return TaskSpec(
        name=sync_task_name(target.enterprise_id, frequency, window),
        function=SYNC_WORKER,
        payload={
            "enterprise_id": target.enterprise_id,
            "providers": [p.value for p in target.providers],
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "reason": frequency,
        },
    )


def dispatch_sync(
    targets: SyncTargets,
    queue: TaskQueue,
    clock: Clock,
    settings: Settings,
    frequency: Frequency,
    *,
    page_size: int = PAGE_SIZE,
) -> DispatchResult:
    """Enqueue one sync task per target enterprise for the current window.

    Raises:
        DependencyUnavailable: Firestore failed, or some tasks could not be enqueued (those enqueued stay; a retry
            adds the rest).
    """
    started = time.monotonic()
    window = sync_window(frequency, clock.now(), settings.sync_repull_days, settings.sync_hourly_repull_days)
    enterprises = 0
    pending: list[Future[EnqueueResult]] = []
    with ThreadPoolExecutor(max_workers=PAGES_IN_FLIGHT, thread_name_prefix="dispatch") as pool:
        for page in targets.pages(hourly_only=frequency == "hourly", page_size=page_size):
            if not page:
                continue
            enterprises += len(page)
            specs = [sync_task(target, frequency, window) for target in page]
            pending.append(pool.submit(queue.enqueue, settings.sync_queue, specs))
        results, errors = _collect(pending)
    created = sum(r.created for r in results)
    existed = sum(r.already_existed for r in results)
    failed = sum(len(r.failed) for r in results)
    result = DispatchResult(frequency, window, enterprises, created, existed, failed, time.monotonic() - started)
    log.info(
        "sync dispatched",
        extra={
            "frequency": frequency,
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "enterprises": enterprises,
            "tasks_created": created,
            "tasks_existed": existed,
            "tasks_failed": failed,
            "page_errors": len(errors),
        },
    )
    if errors:
        raise DependencyUnavailable(f"{len(errors)} pages of sync tasks could not be enqueued") from errors[0]
    if failed:
        raise DependencyUnavailable(f"{failed} of {enterprises} sync tasks could not be enqueued")
    return result


def _collect(pending: list[Future[EnqueueResult]]) -> tuple[list[EnqueueResult], list[DependencyUnavailable]]:
    results: list[EnqueueResult] = []
    errors: list[DependencyUnavailable] = []
    for future in pending:
        try:
            results.append(future.result())
        except DependencyUnavailable as e:  # a page none of whose tasks was accepted; others may have been
            errors.append(e)
    return results, errors
