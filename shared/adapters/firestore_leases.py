"""Short exclusive leases in Firestore: the ``Leases`` port, ``enterprises/{id}/leases/{name}``.

A lease is a document that exists while it is held: taken with ``create`` (Firestore refuses it when the document
exists), released with a ``delete`` conditioned on the update time of our own write (so a holder whose lease expired
and was taken over never deletes the new holder's). An expired lease is broken the same way: deleted on condition
that it is still the document we read. No transaction is involved, so contenders never hold read locks on one
another: taking a busy lease costs one failed write and one read, and never deadlocks (ADR 0016).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc

from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated

log = logging.getLogger(__name__)

LEASES = "leases"


class FirestoreLeases:
    """Implements ``shared.ports.Leases``."""

    def __init__(self, client: Any) -> None:
        self._db = client
        self._held: dict[tuple[str, str, str], Any] = {}
        """The update time of each lease this instance holds, the precondition of its release."""

    def _ref(self, enterprise_id: str, name: str) -> Any:
        return self._db.collection(ENTERPRISES).document(enterprise_id).collection(LEASES).document(name)

    def acquire(self, enterprise_id: str, name: str, *, holder: str, now: datetime, ttl: timedelta) -> bool:
        ref = self._ref(enterprise_id, name)
        doc = {"holder": holder, "acquired_at": now, "expires_at": now + ttl}
        for _ in range(2):  # a second try after breaking an expired lease
            try:
                with translated():
                    result = ref.create(doc)
                self._held[(enterprise_id, name, holder)] = result.update_time
                return True
            except gexc.Conflict:  # AlreadyExists: someone holds it, or held it and died
                if not self._break_expired(ref, now):
                    return False
        return False

    def _break_expired(self, ref: Any, now: datetime) -> bool:
        with translated():
            snap = ref.get()
        if not snap.exists:
            return True
        expires_at = (snap.to_dict() or {}).get("expires_at")
        if expires_at is not None and expires_at > now:
            return False
        try:
            with translated():
                ref.delete(option=self._db.write_option(last_update_time=snap.update_time))
        except (gexc.FailedPrecondition, gexc.NotFound):
            return True  # someone else broke or renewed it first: try to take it, which may still fail
        log.warning("expired lease broken", extra={"lease": ref.path, "holder": (snap.to_dict() or {}).get("holder")})
        return True

    def busy(self, enterprise_id: str, name: str, *, now: datetime) -> bool:
        with translated():
            snap = self._ref(enterprise_id, name).get()
        expires_at = (snap.to_dict() or {}).get("expires_at") if snap.exists else None
        return expires_at is not None and expires_at > now

    def release(self, enterprise_id: str, name: str, *, holder: str) -> None:
        update_time = self._held.pop((enterprise_id, name, holder), None)
        if update_time is None:
            return
        try:
            with translated():
                self._ref(enterprise_id, name).delete(option=self._db.write_option(last_update_time=update_time))
        except (gexc.FailedPrecondition, gexc.NotFound):
            log.warning("lease expired before its release", extra={"enterprise_id": enterprise_id, "lease": name})
