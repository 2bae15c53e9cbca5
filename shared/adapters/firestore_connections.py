"""Provider connections in Firestore: the ``ProviderConnectionStore`` port.

Two documents per enterprise hold a provider's connection:

* ``enterprises/{id}`` → ``providers.<provider>``: the public ``ProviderState`` members may read;
* ``enterprises/{id}/private/providers`` → ``<provider>``: the ``ProviderKeyRecord`` naming the secret version,
  readable by no client (``firestore.rules``) and never returned by the API.

Every change writes both, with its audit entry, in one transaction or batch: a reader never sees a state whose key
record (or audit trail) is missing. The time of a change (the enterprise's ``updated_at``) is its audit entry's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from google.api_core import exceptions as gexc

from shared.adapters.firestore_audit import audit_doc, audit_ref
from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.domain.connections.provider_keys import ProviderKeyRecord
from shared.domain.enterprise.audit import AuditEntry
from shared.domain.enterprise.model import ProviderName, ProviderState, ProviderStatus
from shared.errors import Conflict, NotFound

log = logging.getLogger(__name__)

PRIVATE = "private"
PROVIDERS_DOC = "providers"


@contextmanager
def _translated() -> Iterator[None]:
    try:
        with translated():
            yield
    except gexc.NotFound as e:
        raise NotFound("enterprise not found", code="enterprise_not_found") from e


def _record_of(snap: Any, provider: ProviderName) -> ProviderKeyRecord | None:
    data = (snap.to_dict() or {}) if snap.exists else {}
    found = data.get(provider.value)
    return ProviderKeyRecord.model_validate(found) if found else None


def _record_doc(record: ProviderKeyRecord) -> dict[str, Any]:
    """Firestore stores datetimes but not dates: days are kept as ISO strings (pydantic reads them back)."""
    doc = record.model_dump(mode="python")
    return {k: v.isoformat() if isinstance(v, date) and not isinstance(v, datetime) else v for k, v in doc.items()}


def _state_of(snap: Any, provider: ProviderName) -> ProviderState | None:
    found = ((snap.to_dict() or {}).get("providers") or {}).get(provider.value)
    return ProviderState.model_validate(found) if found else None


class FirestoreProviderConnections:
    """Implements ``shared.ports.ProviderConnectionStore``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def _refs(self, enterprise_id: str) -> tuple[Any, Any]:
        enterprise = self._db.collection(ENTERPRISES).document(enterprise_id)
        return enterprise, enterprise.collection(PRIVATE).document(PROVIDERS_DOC)

    def key_record(self, enterprise_id: str, provider: ProviderName) -> ProviderKeyRecord | None:
        _, private = self._refs(enterprise_id)
        with _translated():
            return _record_of(private.get(), provider)

    def key_records(self, enterprise_id: str) -> dict[ProviderName, ProviderKeyRecord]:
        _, private = self._refs(enterprise_id)
        with _translated():
            snap = private.get()
        records = {provider: _record_of(snap, provider) for provider in ProviderName}
        return {provider: record for provider, record in records.items() if record is not None}

    def save_connection(
        self,
        enterprise_id: str,
        provider: ProviderName,
        *,
        state: ProviderState,
        record: ProviderKeyRecord,
        audit: AuditEntry,
        expected_version: str | None,
    ) -> None:
        from google.cloud import firestore

        enterprise, private = self._refs(enterprise_id)

        @firestore.transactional
        def write(transaction: Any) -> None:
            if not enterprise.get(transaction=transaction).exists:
                raise NotFound("enterprise not found", code="enterprise_not_found")
            current = _record_of(private.get(transaction=transaction), provider)
            if (current.secret_version if current else None) != expected_version:
                raise Conflict(
                    "another change to this provider's key finished first: try again", code="concurrent_connect"
                )
            transaction.update(
                enterprise, {f"providers.{provider.value}": state.model_dump(mode="python"), "updated_at": audit.at}
            )
            transaction.set(private, {provider.value: _record_doc(record)}, merge=[provider.value])
            transaction.set(audit_ref(self._db, enterprise_id, audit.id), audit_doc(audit))

        with _translated():
            write(self._db.transaction())

    def save_disconnection(
        self,
        enterprise_id: str,
        provider: ProviderName,
        *,
        state: ProviderState,
        audit: AuditEntry,
        expected_version: str | None,
    ) -> None:
        from google.cloud import firestore

        enterprise, private = self._refs(enterprise_id)

        @firestore.transactional
        def write(transaction: Any) -> None:
            # Read the key record in the transaction: a rotation that committed a new version since the disconnect
            # destroyed the versions it knew would otherwise be forgotten while its version stays enabled.
            current = _record_of(private.get(transaction=transaction), provider)
            if (current.secret_version if current else None) != expected_version:
                raise Conflict("the key was rotated during the disconnect: try again", code="concurrent_connect")
            transaction.update(
                enterprise, {f"providers.{provider.value}": state.model_dump(mode="python"), "updated_at": audit.at}
            )
            transaction.set(private, {provider.value: firestore.DELETE_FIELD}, merge=True)
            transaction.set(audit_ref(self._db, enterprise_id, audit.id), audit_doc(audit))

        with _translated():
            write(self._db.transaction())

    def save_key_record(self, enterprise_id: str, provider: ProviderName, record: ProviderKeyRecord) -> bool:
        from google.cloud import firestore

        _, private = self._refs(enterprise_id)

        @firestore.transactional
        def replace(transaction: Any) -> bool:
            current = _record_of(private.get(transaction=transaction), provider)
            if current is None or current.secret_version != record.secret_version:
                return False
            transaction.set(private, {provider.value: _record_doc(record)}, merge=[provider.value])
            return True

        with _translated():
            replaced: bool = replace(self._db.transaction())
        return replaced

    def mark_key_failed(
        self,
        enterprise_id: str,
        provider: ProviderName,
        *,
        secret_version: str | None,
        error_code: str,
        audit: AuditEntry,
        now: datetime,
    ) -> bool:
        from google.cloud import firestore

        enterprise, private = self._refs(enterprise_id)

        @firestore.transactional
        def transition(transaction: Any) -> bool:
            snap = enterprise.get(transaction=transaction)
            if not snap.exists:
                return False
            state = _state_of(snap, provider)
            record = _record_of(private.get(transaction=transaction), provider)
            if state is None or state.status is not ProviderStatus.CONNECTED or record is None:
                return False
            if secret_version is not None and record.secret_version != secret_version:
                return False  # a newer key replaced the one that failed
            p = provider.value
            transaction.update(
                enterprise,
                {
                    f"providers.{p}.status": ProviderStatus.KEY_FAILED.value,
                    f"providers.{p}.last_error": error_code,
                    "updated_at": now,
                },
            )
            transaction.update(private, {f"{p}.key_failed_at": now, f"{p}.alert_sent_at": None})
            transaction.set(audit_ref(self._db, enterprise_id, audit.id), audit_doc(audit))
            return True

        with _translated():
            started: bool = transition(self._db.transaction())
        return started
