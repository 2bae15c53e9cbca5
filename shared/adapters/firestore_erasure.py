"""Erasure of an enterprise's Firestore data, and its tombstone: the ``ErasureStore`` port.

Subcollections are found with ``collections()`` on the enterprise document rather than from a list of names, so a
collection added later (reports, alerts, budgets...) is erased without a change here; each is emptied with a
recursive (all-descendants) query, which also reaches documents nested below documents that do not exist.

The tombstone ``erasures/{enterprise_id}`` holds two timestamps and nothing else (ADR 0012). It is written in the same
commit that deletes the enterprise document, the last step of an erasure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.firestore_deletes import delete_page
from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.ports import ErasureRecord

ERASURES = "erasures"
REQUESTED_AT = "requested_at"
ERASED_AT = "erased_at"


def erasure_record(snap: Any) -> ErasureRecord:
    data = snap.to_dict() or {}
    return ErasureRecord(enterprise_id=snap.id, requested_at=data.get(REQUESTED_AT), erased_at=data[ERASED_AT])


class FirestoreErasures:
    """Implements ``shared.ports.ErasureStore``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def _enterprise(self, enterprise_id: str) -> Any:
        return self._db.collection(ENTERPRISES).document(enterprise_id)

    def delete_page(self, enterprise_id: str, *, limit: int) -> int:
        with translated():
            collections = list(self._enterprise(enterprise_id).collections())
        for collection in sorted(collections, key=lambda c: c.id):
            deleted = delete_page(self._db, collection.recursive(), limit)
            if deleted:
                return deleted
        return 0

    def finish(self, record: ErasureRecord) -> None:
        batch = self._db.batch()
        batch.set(
            self._db.collection(ERASURES).document(record.enterprise_id),
            {REQUESTED_AT: record.requested_at, ERASED_AT: record.erased_at},
        )
        batch.delete(self._enterprise(record.enterprise_id))
        with translated():
            batch.commit()

    def record(self, enterprise_id: str) -> ErasureRecord | None:
        with translated():
            snap = self._db.collection(ERASURES).document(enterprise_id).get()
        return erasure_record(snap) if snap.exists else None


def erased_since(db: Any, since: datetime) -> list[ErasureRecord]:
    """Tombstones of erasures finished at or after ``since`` (one single-field range query)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = db.collection(ERASURES).where(filter=FieldFilter(ERASED_AT, ">=", since))
    with translated():
        return [erasure_record(snap) for snap in query.stream()]
