"""Usage data past its retention, across every enterprise: the ``RetentionStore`` port.

Each kind of data is found with one collection group query (so data left below a deleted enterprise document is
found too) and deleted a page at a time (``firestore_deletes``):

* ``usage_snapshots`` by their ``date`` field (``YYYY-MM-DD``, equal to the document id);
* ``usage_months`` by their ``month`` field (``YYYY-MM``, equal to the document id);
* ``raw_responses`` by their ``expire_at`` timestamp.

A collection group range query needs a collection-group single-field index on production Firestore; they are declared
in ``firestore.indexes.json`` (``fieldOverrides``) and created by Terraform. The emulator needs none.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from shared.adapters.firestore_deletes import delete_page
from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_erasure import erased_since
from shared.adapters.firestore_errors import translated
from shared.adapters.firestore_snapshots import EXPIRE_AT, MONTHS, RAW, SNAPSHOTS
from shared.domain.enterprise.model import Enterprise
from shared.ports import ErasureRecord

log = logging.getLogger(__name__)

SNAPSHOT_DAY = "date"
MONTH = "month"


class FirestoreRetention:
    """Implements ``shared.ports.RetentionStore``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def _older(self, group: str, field: str, op: str, bound: object, limit: int) -> int:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self._db.collection_group(group).where(filter=FieldFilter(field, op, bound))
        return delete_page(self._db, query, limit)

    def delete_snapshots_before(self, day: date, *, limit: int) -> int:
        return self._older(SNAPSHOTS, SNAPSHOT_DAY, "<", day.isoformat(), limit)

    def delete_months_before(self, month: str, *, limit: int) -> int:
        return self._older(MONTHS, MONTH, "<", month, limit)

    def delete_raw_responses_expired(self, at: datetime, *, limit: int) -> int:
        return self._older(RAW, EXPIRE_AT, "<=", at, limit)

    def closing_enterprises(self) -> list[Enterprise]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self._db.collection(ENTERPRISES).where(filter=FieldFilter("status", "==", "closing"))
        with translated():
            snaps = list(query.stream())
        found = []
        for snap in snaps:
            try:
                found.append(Enterprise.model_validate({"id": snap.id, **(snap.to_dict() or {})}))
            except ValidationError:
                log.exception("closing enterprise is unreadable", extra={"enterprise_id": snap.id})
        return found

    def erased_since(self, since: datetime) -> list[ErasureRecord]:
        return erased_since(self._db, since)

    def has_orphaned_data(self, enterprise_id: str) -> bool:
        ref = self._db.collection(ENTERPRISES).document(enterprise_id)
        with translated():
            if ref.get(field_paths=["status"]).exists:
                return False
            return next(iter(ref.collections()), None) is not None
