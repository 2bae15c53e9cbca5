"""Use case: the daily retention sweep (``retention_sweep``, Cloud Scheduler job ``retention``).

Firestore's TTL policies delete expired snapshots, rollups and raw responses, but up to about 72 hours late, and the
emulator never does; the sweep is what guarantees the retention periods (``shared.domain.usage.retention``):

* ``usage_snapshots`` of days, and ``usage_months`` of months, past ``Settings.snapshot_retention_months``;
* ``raw_responses`` whose ``expire_at`` has passed (``Settings.raw_response_ttl_days`` after they were stored);
* erasures: an enterprise still ``closing`` ``Settings.erasure_grace_hours`` after its erasure was requested (a lost
  or exhausted erase task), and an erased enterprise under which documents appeared afterwards (a sync that was
  still running), get their erase task enqueued again. The sweep never erases an enterprise itself: only the
  ``connect`` identity may destroy its provider keys, and the sweep's identity holds no Secret Manager role.

Everything is deleted a page per commit and every step is idempotent, so a second run right after the first deletes
nothing. The sweep stops deleting after ``Settings.retention_sweep_budget_s`` and answers ``complete: false``; the next
run continues where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from shared.config import Settings
from shared.domain.usage.retention import RetentionCutoffs, retention_cutoffs
from shared.errors import DependencyUnavailable
from shared.ports import Clock, RetentionStore, TaskQueue, TaskSpec
from shared.services.enterprise.erasure_request import ERASE_FUNCTION, erase_task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    oldest_day_kept: date
    oldest_month_kept: str
    snapshots_deleted: int
    months_deleted: int
    raw_responses_deleted: int
    stalled_erasures_requeued: int
    erasure_leftovers_requeued: int
    complete: bool
    """False when the time budget ran out before everything past retention was deleted."""

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "oldest_day_kept": self.oldest_day_kept.isoformat()}


def leftovers_task(enterprise_id: str, run_day: date) -> TaskSpec:
    """Erase again an enterprise erased already, under which documents were found (one task per sweep day)."""
    return TaskSpec(
        name=f"erase-{enterprise_id}-leftovers-{run_day:%Y%m%d}",
        function=ERASE_FUNCTION,
        payload={"enterprise_id": enterprise_id},
    )


class _Budget:
    def __init__(self, seconds: float, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._deadline = monotonic() + seconds
        self.exhausted = False

    def left(self) -> bool:
        if self._monotonic() >= self._deadline:
            self.exhausted = True
        return not self.exhausted


def sweep_retention(
    store: RetentionStore,
    tasks: TaskQueue,
    clock: Clock,
    settings: Settings,
    *,
    monotonic: Callable[[], float] = time.monotonic,
) -> SweepResult:
    """Run one sweep; see the module docstring.

    Raises:
        DependencyUnavailable: the database failed, or erase tasks could not be enqueued (after the deletions, so a
            retry by Cloud Scheduler finds less to do).
    """
    now = clock.now()
    cutoffs = retention_cutoffs(now, retention_months=settings.snapshot_retention_months)
    stalled, leftovers = _erasure_tasks(store, now, settings)
    enqueue_failure = _enqueue(tasks, settings.erase_queue, stalled + leftovers)

    budget = _Budget(settings.retention_sweep_budget_s, monotonic)
    size = settings.retention_page_size
    raw = _drain(lambda: store.delete_raw_responses_expired(cutoffs.now, limit=size), size, budget)
    snapshots = _drain(lambda: store.delete_snapshots_before(cutoffs.oldest_day, limit=size), size, budget)
    months = _drain(lambda: store.delete_months_before(cutoffs.oldest_month, limit=size), size, budget)

    result = SweepResult(
        oldest_day_kept=cutoffs.oldest_day,
        oldest_month_kept=cutoffs.oldest_month,
        snapshots_deleted=snapshots,
        months_deleted=months,
        raw_responses_deleted=raw,
        stalled_erasures_requeued=len(stalled),
        erasure_leftovers_requeued=len(leftovers),
        complete=not budget.exhausted,
    )
    _log(result, cutoffs)
    if enqueue_failure is not None:
        raise enqueue_failure
    return result


def _enqueue(tasks: TaskQueue, queue: str, specs: list[TaskSpec]) -> DependencyUnavailable | None:
    """Enqueue ``specs``; a failure is returned, to be raised once the deletions are done."""
    if not specs:
        return None
    try:
        result = tasks.enqueue(queue, specs)
    except DependencyUnavailable as e:
        log.warning("erase tasks could not be enqueued", extra={"tasks": len(specs)})
        return e
    if result.failed:
        log.warning("erase tasks could not be enqueued", extra={"tasks": len(result.failed)})
        return DependencyUnavailable(f"{len(result.failed)} erase tasks could not be enqueued")
    return None


def _erasure_tasks(store: RetentionStore, now: datetime, settings: Settings) -> tuple[list[TaskSpec], list[TaskSpec]]:
    today = now.date()
    grace = timedelta(hours=settings.erasure_grace_hours)
    stalled = []
    for enterprise in store.closing_enterprises():
        since = enterprise.closing_since or enterprise.updated_at
        if since <= now - grace:
            log.warning(
                "enterprise erasure stalled: re-enqueued",
                extra={"enterprise_id": enterprise.id, "closing_since": since.isoformat()},
            )
            stalled.append(erase_task(enterprise, suffix=f"sweep-{today:%Y%m%d}"))
    leftovers = []
    for record in store.erased_since(now - timedelta(days=settings.erasure_recheck_days)):
        if store.has_orphaned_data(record.enterprise_id):
            log.warning("documents found below an erased enterprise", extra={"enterprise_id": record.enterprise_id})
            leftovers.append(leftovers_task(record.enterprise_id, today))
    return stalled, leftovers


def _drain(delete_page: Callable[[], int], page_size: int, budget: _Budget) -> int:
    """Delete pages until one comes back short (nothing left) or the budget runs out; returns how many."""
    total = 0
    while budget.left():
        deleted = delete_page()
        total += deleted
        if deleted < page_size:
            break
    return total


def _log(result: SweepResult, cutoffs: RetentionCutoffs) -> None:
    extra = {**result.as_dict(), "raw_expired_before": cutoffs.now.isoformat()}
    if result.complete:
        log.info("retention sweep done", extra=extra)
    else:
        log.warning("retention sweep stopped by its time budget; the next run continues", extra=extra)
