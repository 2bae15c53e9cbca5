"""Use case: an admin asks for the enterprise to be erased (GDPR).

The ``api`` function only accepts the request: it schedules an ``enterprise_erase`` task and closes the enterprise,
so every member loses access at once. The erasure itself (secrets, documents) runs in the ``enterprise_erase``
function under the ``connect`` identity, the one allowed to destroy secrets (ADR 0001).

Order matters for retries. The task is enqueued *before* the enterprise is closed: if closing then fails, the
caller gets a 503 and retries (the task name is taken, so nothing is scheduled twice); the other order could leave
an enterprise closed, invisible to its admins, and never erased. Hence the worker's contract: erase only an
enterprise whose status is ``closing``, and answer 503 (retry later) while it is still ``active``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shared.domain.enterprise.audit import Actor, AuditAction
from shared.domain.enterprise.callers import User
from shared.domain.enterprise.events import event_entry
from shared.domain.enterprise.model import Enterprise
from shared.errors import DependencyUnavailable, NotFound
from shared.ports import Clock, EnterpriseChange, EnterpriseStore, TaskQueue, TaskSpec

log = logging.getLogger(__name__)

ERASE_FUNCTION = "enterprise_erase"


def erase_task_name(enterprise_id: str, created_at: datetime) -> str:
    """``erase-{id}-{creation time}``: see ``erase_task``."""
    return f"erase-{enterprise_id}-{created_at.strftime('%Y%m%dT%H%M%S%fZ')}"


def erase_task(enterprise: Enterprise, *, suffix: str = "", not_before: datetime | None = None) -> TaskSpec:
    """The erasure task of one enterprise.

    Named from the enterprise's id and creation time: a repeated request names the same task, while an enterprise
    re-created later under the same id (ids derive from the creator and the name) gets a task of its own. The
    retention sweeper re-enqueues a stalled erasure under a ``suffix`` (its run day): Cloud Tasks refuses a name
    used in the last hours, even by a finished task. ``not_before`` delays the first delivery.
    """
    return TaskSpec(
        name=erase_task_name(enterprise.id, enterprise.created_at) + (f"-{suffix}" if suffix else ""),
        function=ERASE_FUNCTION,
        payload={"enterprise_id": enterprise.id},
        schedule_time=not_before,
    )


def request_erasure(
    store: EnterpriseStore,
    tasks: TaskQueue,
    clock: Clock,
    actor: User,
    enterprise_id: str,
    *,
    queue: str,
    settle: timedelta = timedelta(0),
) -> Enterprise:
    """Schedule the erasure of ``enterprise_id`` and close it; returns the closing enterprise.

    The task is scheduled ``settle`` after the closing time, when the worker accepts it (``erase_enterprise``).

    Raises:
        NotFound: ``enterprise_not_found`` (missing, or already closing).
        DependencyUnavailable: the task could not be scheduled, or the database is unavailable (retry).
    """
    enterprise = store.get(enterprise_id)
    if enterprise is None or enterprise.status != "active":
        raise NotFound("enterprise not found", code="enterprise_not_found")
    now = clock.now()
    result = tasks.enqueue(queue, [erase_task(enterprise, not_before=now + settle if settle else None)])
    if result.failed:
        raise DependencyUnavailable("the erasure could not be scheduled; please try again")

    def close(current: Enterprise) -> EnterpriseChange | None:
        if current.status == "closing":
            return None
        entry = event_entry(
            AuditAction.ERASURE_REQUESTED, actor=Actor.user(actor.uid, actor.email), at=now, target=current.id
        )
        closed = current.model_copy(update={"status": "closing", "closing_since": now, "updated_at": now})
        return EnterpriseChange(closed, [entry])

    closed = store.update(enterprise_id, close)
    log.info("enterprise erasure requested", extra={"enterprise_id": enterprise_id})
    return closed
