"""Monthly report delivery records and report targets in Firestore: the ``ReportLog`` and ``ReportTargets`` ports.

* ``enterprises/{id}/reports/{YYYY-MM}``: one record per month; the claim is a transaction (read, decide with
  ``shared.domain.reports.delivery``, write), so two workers never both hold it. Listings order by the documents'
  ``month`` field (Firestore does not scan document ids in descending order), a single-field index.
* Report targets: active enterprises with ``settings.email_reports`` true, read a page of ids at a time ordered by
  document id (equality filters with the id order need no composite index).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.adapters.firestore_pages import query_pages
from shared.adapters.firestore_snapshots import MONTHS
from shared.domain.reports.delivery import Claim, ReportRecord, decide_claim

log = logging.getLogger(__name__)

REPORTS = "reports"
MAX_TRANSACTION_ATTEMPTS = 5


def _doc(record: ReportRecord) -> dict[str, Any]:
    return record.model_dump(mode="python")


class FirestoreReportLog:
    """Implements ``shared.ports.ReportLog``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def _ref(self, enterprise_id: str, month: str) -> Any:
        return self._db.collection(ENTERPRISES).document(enterprise_id).collection(REPORTS).document(month)

    def claim(self, enterprise_id: str, month: str, now: datetime, *, lease: timedelta) -> Claim:
        from google.cloud import firestore

        ref = self._ref(enterprise_id, month)

        @firestore.transactional
        def apply(transaction: Any) -> Claim:
            snap = ref.get(transaction=transaction)
            current = ReportRecord.model_validate(snap.to_dict()) if snap.exists else None
            decision = decide_claim(current, month, now, lease=lease)
            if decision.outcome == "claimed":
                transaction.set(ref, _doc(decision.record))
            return decision

        with translated():
            claim: Claim = apply(self._db.transaction(max_attempts=MAX_TRANSACTION_ATTEMPTS))
        return claim

    def save(self, enterprise_id: str, record: ReportRecord) -> None:
        with translated():
            self._ref(enterprise_id, record.month).set(_doc(record))

    def get(self, enterprise_id: str, month: str) -> ReportRecord | None:
        with translated():
            snap = self._ref(enterprise_id, month).get()
        return ReportRecord.model_validate(snap.to_dict()) if snap.exists else None

    def recent(self, enterprise_id: str, limit: int) -> list[ReportRecord]:
        collection = self._db.collection(ENTERPRISES).document(enterprise_id).collection(REPORTS)
        query = collection.order_by("month", direction="DESCENDING").limit(limit)
        with translated():
            return [ReportRecord.model_validate(s.to_dict()) for s in query.stream()]

    def months_with_usage(self, enterprise_id: str, limit: int) -> list[str]:
        collection = self._db.collection(ENTERPRISES).document(enterprise_id).collection(MONTHS)
        query = collection.select(["month"]).order_by("month", direction="DESCENDING").limit(limit)
        with translated():
            return [s.id for s in query.stream()]


class FirestoreReportTargets:
    """Implements ``shared.ports.ReportTargets``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def pages(self, *, page_size: int) -> Iterator[list[str]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self._db.collection(ENTERPRISES)
            .where(filter=FieldFilter("status", "==", "active"))
            .where(filter=FieldFilter("settings.email_reports", "==", True))
            .select([])
        )
        for snaps in query_pages(query, page_size=page_size):
            yield [s.id for s in snaps]
