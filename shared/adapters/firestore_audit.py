"""``enterprises/{id}/audit_log/{entry_id}`` in Firestore: the ``AuditLog`` port.

Entries are written with ``set`` under their deterministic id, so a retried write replaces rather than duplicates.
Pages are read newest first, ordered by (``at``, document id) descending; the cursor is the last entry's pair, so
pages neither skip nor repeat entries written in the same instant.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import TRANSIENT
from shared.domain.enterprise.audit import AuditEntry
from shared.errors import DependencyUnavailable
from shared.ports import AuditCursor, AuditPage

log = logging.getLogger(__name__)

AUDIT_LOG = "audit_log"


def audit_doc(entry: AuditEntry) -> dict[str, Any]:
    """The stored form of an entry (its id is the document id)."""
    return entry.model_dump(mode="python", exclude={"id"})


def audit_ref(db: Any, enterprise_id: str, entry_id: str) -> Any:
    return db.collection(ENTERPRISES).document(enterprise_id).collection(AUDIT_LOG).document(entry_id)


class FirestoreAuditLog:
    """Implements ``shared.ports.AuditLog``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def record(self, enterprise_id: str, entry: AuditEntry) -> None:
        try:
            audit_ref(self._db, enterprise_id, entry.id).set(audit_doc(entry))
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        log.info(
            "audit entry recorded",
            extra={"enterprise_id": enterprise_id, "audit_action": entry.action.value, "entry_id": entry.id},
        )

    def page(self, enterprise_id: str, *, limit: int, after: AuditCursor | None) -> AuditPage:
        from google.cloud.firestore import Query

        entries = self._db.collection(ENTERPRISES).document(enterprise_id).collection(AUDIT_LOG)
        query = entries.order_by("at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
        if after is not None:
            query = query.start_after({"at": after.at, "__name__": entries.document(after.entry_id)})
        try:
            snaps = list(query.limit(limit + 1).stream())
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        found = [AuditEntry.model_validate({"id": s.id, **(s.to_dict() or {})}) for s in snaps[:limit]]
        more = len(snaps) > limit and bool(found)
        return AuditPage(entries=found, next=AuditCursor(found[-1].at, found[-1].id) if more else None)
