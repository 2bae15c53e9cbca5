"""One writer of an enterprise's snapshots at a time: the sync's lease (ADR 0016).

Cloud Tasks runs an enterprise's tasks side by side (backfill windows that share a month, two providers connected
back to back, a daily run beside a backfill). Each month's read-modify-write is already a transaction, which keeps
the documents right; the lease keeps those transactions from contending, which on Firestore means aborted attempts
(and, on the emulator, lock waits of seconds). Only the transactions are serialised: providers are still pulled side
by side, and months written at the versions read ahead (``SnapshotStore.update_months_ahead``, one commit that takes
no lock) need no lease at all (ADR 0027, third amendment). A sync that cannot get the lease within
``Settings.sync_lease_wait_s`` answers 503 (``sync_busy``) and Cloud Tasks retries it with backoff; a lease whose
holder died expires after ``Settings.sync_lease_ttl_s``. The scheduled syncs, which run alone nearly always, take the
lease only when another sync holds it (ADR 0025).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from shared.config import Settings
from shared.errors import DependencyUnavailable
from shared.ports import Clock, Leases

log = logging.getLogger(__name__)

SNAPSHOTS_LEASE = "snapshots"


class SyncBusy(DependencyUnavailable):
    """Another sync of the enterprise kept its snapshots busy for longer than this one may wait (503, retried)."""

    code = "sync_busy"


@contextmanager
def snapshots_lease(
    leases: Leases,
    clock: Clock,
    settings: Settings,
    enterprise_id: str,
    *,
    task: str,
    sleep: Callable[[float], None] = time.sleep,
    only_when_busy: bool = False,
) -> Iterator[None]:
    """Hold the enterprise's snapshots lease for the block, waiting for it up to ``Settings.sync_lease_wait_s``.

    ``only_when_busy``: a task that usually runs alone (the scheduled daily or hourly sync) looks at the lease first
    and, when no other sync holds it, runs the block without taking it: two writes saved, and the month
    transactions keep the documents right should another sync start storing meanwhile (ADR 0025).
    """
    if only_when_busy and not leases.busy(enterprise_id, SNAPSHOTS_LEASE, now=clock.now()):
        yield
        return
    # Two deliveries of one task may run at once: the holder names this run, not only the task.
    holder = f"{task}/{uuid.uuid4().hex[:12]}"
    ttl = timedelta(seconds=settings.sync_lease_ttl_s)
    polls = math.ceil(settings.sync_lease_wait_s / settings.sync_lease_poll_s)
    for attempt in range(polls + 1):
        if leases.acquire(enterprise_id, SNAPSHOTS_LEASE, holder=holder, now=clock.now(), ttl=ttl):
            break
        if attempt < polls:
            sleep(settings.sync_lease_poll_s)
    else:
        log.warning("snapshots busy with another sync", extra={"enterprise_id": enterprise_id, "task": task})
        raise SyncBusy("another sync of this enterprise is writing its usage; try again")
    try:
        yield
    finally:
        leases.release(enterprise_id, SNAPSHOTS_LEASE, holder=holder)
