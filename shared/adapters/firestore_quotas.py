"""Quota counters in Firestore: ``quotas/{quota}-{digest of the subject}-{window}``, one document per window.

Each take is a transaction (read the count, refuse or write count + 1), so concurrent requests on any number of
instances never count past the limit: Firestore retries a transaction whose read changed before it committed.
The subject is hashed so document ids hold no uid or enterprise id; ``expire_at`` is the TTL policy's field
(``firestore.indexes.json``), which drops a window a day after it ends.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.firestore_errors import translated
from shared.adapters.firestore_snapshots import EXPIRE_AT

QUOTAS = "quotas"


def quota_doc_id(quota: str, subject: str, window: int) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"{quota}-{digest}-{window}"


class FirestoreQuotas:
    def __init__(self, db: Any) -> None:
        self._db = db

    def take(self, quota: str, subject: str, *, limit: int, window_s: int, now: datetime) -> int | None:
        from google.cloud import firestore

        epoch = now.timestamp()
        window = int(epoch // window_s)
        ends = datetime.fromtimestamp((window + 1) * window_s, UTC)
        ref = self._db.collection(QUOTAS).document(quota_doc_id(quota, subject, window))

        @firestore.transactional
        def apply(transaction: Any) -> bool:
            count = self._read_count(transaction, ref)
            if count >= limit:
                return False
            transaction.set(ref, {"count": count + 1, "window_end": ends, EXPIRE_AT: ends + timedelta(days=1)})
            return True

        with translated():
            taken = apply(self._db.transaction(max_attempts=10))
        return None if taken else max(1, math.ceil(ends.timestamp() - epoch))

    def _read_count(self, transaction: Any, ref: Any) -> int:
        """The transaction's read; a seam where tests run another take between this read and the write."""
        snap = ref.get(transaction=transaction)
        return int((snap.to_dict() or {}).get("count", 0)) if snap.exists else 0
