"""``enterprises/{id}`` in Firestore."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from google.api_core import exceptions as gexc

from shared.adapters.firestore_errors import TRANSIENT
from shared.domain.enterprise.model import Enterprise, Membership
from shared.errors import DependencyUnavailable, NotFound
from shared.ports import EnterpriseChange

log = logging.getLogger(__name__)

ENTERPRISES = "enterprises"
MAX_TRANSACTION_ATTEMPTS = 10
"""Attempts of one update under contention before it answers 503 (the client library's default is 5)."""


def enterprise_doc(enterprise: Enterprise) -> dict[str, Any]:
    return enterprise.model_dump(mode="python", exclude={"id"})


def changed_fields(before: Enterprise, after: Enterprise) -> dict[str, Any]:
    """The top-level fields whose value differs: written with ``update`` so fields we do not model survive."""
    old, new = enterprise_doc(before), enterprise_doc(after)
    return {name: value for name, value in new.items() if name not in old or old[name] != value}


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
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e

    def get(self, enterprise_id: str) -> Enterprise | None:
        try:
            snap = self._db.collection(ENTERPRISES).document(enterprise_id).get()
        except TRANSIENT as e:
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
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        result = []
        for snap in snaps:
            data = snap.to_dict() or {}
            member = (data.get("members") or {}).get(uid)
            if member and data.get("status", "active") == "active":
                result.append(Membership(enterprise_id=snap.id, role=member["role"]))
        return sorted(result, key=lambda m: m.enterprise_id)

    def invited_to(self, email: str) -> list[str]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self._db.collection(ENTERPRISES)
            .where(filter=FieldFilter("invited_emails", "array_contains", email))
            .select(["status"])
        )
        try:
            snaps = list(query.stream())
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        return sorted(s.id for s in snaps if (s.to_dict() or {}).get("status", "active") == "active")

    def update(self, enterprise_id: str, change: Callable[[Enterprise], EnterpriseChange | None]) -> Enterprise:
        from google.cloud import firestore

        # Imported here: firestore_audit imports this module's collection name.
        from shared.adapters.firestore_audit import audit_doc, audit_ref

        ref = self._db.collection(ENTERPRISES).document(enterprise_id)

        @firestore.transactional
        def apply(transaction: Any) -> Enterprise:
            snap = ref.get(transaction=transaction)
            if not snap.exists:
                raise NotFound("enterprise not found", code="enterprise_not_found")
            current = Enterprise.model_validate({"id": snap.id, **snap.to_dict()})
            result = change(current)
            if result is None:
                return current
            fields = changed_fields(current, result.enterprise)
            if fields:
                transaction.update(ref, fields)
            for entry in result.audit:
                transaction.set(audit_ref(self._db, enterprise_id, entry.id), audit_doc(entry))
            return result.enterprise

        try:
            updated: Enterprise = apply(self._db.transaction(max_attempts=MAX_TRANSACTION_ATTEMPTS))
            return updated
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        except ValueError as e:
            # The client library reports a transaction that kept losing to concurrent writers as a ValueError.
            if isinstance(e.__cause__, gexc.Aborted):
                raise DependencyUnavailable("too many concurrent changes to this enterprise; try again") from e
            raise
