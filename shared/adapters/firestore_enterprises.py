"""``enterprises/{id}`` in Firestore."""

from __future__ import annotations

import logging
from typing import Any

from google.api_core import exceptions as gexc

from shared.domain.enterprise import Enterprise, Membership
from shared.errors import DependencyUnavailable

log = logging.getLogger(__name__)

ENTERPRISES = "enterprises"
_TRANSIENT = (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError, gexc.Aborted)


def enterprise_doc(enterprise: Enterprise) -> dict[str, Any]:
    return enterprise.model_dump(mode="python", exclude={"id"})


class FirestoreEnterprises:
    """Implements ``shared.ports.EnterpriseStore``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def create(self, enterprise: Enterprise) -> tuple[Enterprise, bool]:
        ref = self._db.collection(ENTERPRISES).document(enterprise.id)
        try:
            ref.create(enterprise_doc(enterprise))
            return enterprise, True
        except gexc.AlreadyExists:
            existing = self.get(enterprise.id)
            assert existing is not None
            return existing, False
        except _TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e

    def get(self, enterprise_id: str) -> Enterprise | None:
        try:
            snap = self._db.collection(ENTERPRISES).document(enterprise_id).get()
        except _TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        if not snap.exists:
            return None
        return Enterprise.model_validate({"id": snap.id, **snap.to_dict()})

    def memberships_for(self, uid: str) -> list[Membership]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self._db.collection(ENTERPRISES)
            .where(filter=FieldFilter("member_uids", "array_contains", uid))
            .select(["members", "status"])
        )
        try:
            snaps = list(query.stream())
        except _TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        result = []
        for snap in snaps:
            data = snap.to_dict() or {}
            member = (data.get("members") or {}).get(uid)
            if member and data.get("status", "active") == "active":
                result.append(Membership(enterprise_id=snap.id, role=member["role"]))
        return sorted(result, key=lambda m: m.enterprise_id)
