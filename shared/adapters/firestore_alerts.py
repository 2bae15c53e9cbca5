"""Alerts in Firestore (``enterprises/{id}/alerts/{alert_id}``): the ``AlertStore`` port.

Exactly-once hinges on two Firestore guarantees:

* ``create`` is create-if-absent (``DocumentReference.create`` fails with ``AlreadyExists``), so two syncs that find
  the same condition store one record, and the one that loses reads the winner's;
* a claim and a settlement are transactions (read, ``shared.domain.alerts.records.claim`` / ``settle``, write): of two
  syncs claiming the same ``pending`` channel, one commits and the other's retried transaction finds it ``sending``.

Money is stored as plain decimal strings; ``created_at`` and ``expire_at`` as timestamps (ordering and TTL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc

from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.domain.alerts.records import Alert, Channel, Outcome, claim, settle
from shared.errors import NotFound
from shared.ports import AlertPage, AuditCursor

log = logging.getLogger(__name__)

ALERTS = "alerts"


def alert_doc(alert: Alert) -> dict[str, Any]:
    doc: dict[str, Any] = alert.model_dump(mode="json")
    doc["created_at"] = alert.created_at
    doc["expire_at"] = alert.expire_at
    return doc


def _alert_of(snap: Any) -> Alert:
    return Alert.model_validate(snap.to_dict())


class FirestoreAlerts:
    """Implements ``shared.ports.AlertStore``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def _collection(self, enterprise_id: str) -> Any:
        return self._db.collection(ENTERPRISES).document(enterprise_id).collection(ALERTS)

    def create(self, enterprise_id: str, alert: Alert) -> tuple[Alert, bool]:
        ref = self._collection(enterprise_id).document(alert.id)
        try:
            with translated():
                ref.create(alert_doc(alert))
        except gexc.AlreadyExists:  # another sync (or an earlier one) found the same condition
            with translated():
                return _alert_of(ref.get()), False
        log.info("alert recorded", extra={"enterprise_id": enterprise_id, "alert_id": alert.id})
        return alert, True

    def get(self, enterprise_id: str, alert_id: str) -> Alert | None:
        with translated():
            snap = self._collection(enterprise_id).document(alert_id).get()
        return _alert_of(snap) if snap.exists else None

    def open_alerts(self, enterprise_id: str, *, limit: int) -> list[Alert]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self._collection(enterprise_id).where(filter=FieldFilter("open", "==", True)).limit(limit)
        with translated():
            return [_alert_of(s) for s in query.stream()]

    def _transform(self, enterprise_id: str, alert_id: str, apply: Callable[[Alert], Alert | None]) -> Alert | None:
        from google.cloud import firestore

        ref = self._collection(enterprise_id).document(alert_id)

        @firestore.transactional
        def write(transaction: Any) -> Alert | None:
            snap = ref.get(transaction=transaction)
            if not snap.exists:
                raise NotFound("alert not found", code="alert_not_found")
            changed = apply(_alert_of(snap))
            if changed is not None:
                transaction.set(ref, alert_doc(changed))
            return changed

        with translated():
            result: Alert | None = write(self._db.transaction())
        return result

    def claim(
        self,
        enterprise_id: str,
        alert_id: str,
        channel: Channel,
        *,
        now: datetime,
        lease_s: float,
        max_attempts: int,
        from_queue: bool = False,
    ) -> Alert | None:
        lease = timedelta(seconds=lease_s)
        return self._transform(
            enterprise_id,
            alert_id,
            lambda a: claim(a, channel, now=now, lease=lease, max_attempts=max_attempts, from_queue=from_queue),
        )

    def settle(
        self, enterprise_id: str, alert_id: str, channel: Channel, outcome: Outcome, *, now: datetime, code: str | None
    ) -> None:
        self._transform(enterprise_id, alert_id, lambda a: settle(a, channel, outcome, now=now, code=code))

    def page(self, enterprise_id: str, *, limit: int, after: AuditCursor | None) -> AlertPage:
        from google.cloud.firestore import Query

        alerts = self._collection(enterprise_id)
        query = alerts.order_by("created_at", direction=Query.DESCENDING).order_by(
            "__name__", direction=Query.DESCENDING
        )
        if after is not None:
            query = query.start_after({"created_at": after.at, "__name__": alerts.document(after.entry_id)})
        with translated():
            snaps = list(query.limit(limit + 1).stream())
        found = [_alert_of(s) for s in snaps[:limit]]
        more = len(snaps) > limit and bool(found)
        return AlertPage(alerts=found, next=AuditCursor(found[-1].created_at, found[-1].id) if more else None)
