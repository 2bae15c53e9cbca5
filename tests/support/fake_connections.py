"""In-memory ``ProviderConnectionStore`` and ``AuditLog`` with the Firestore adapters' semantics.

``FakeProviderConnections`` keeps the public provider state on the ``FakeEnterpriseStore``'s enterprises (as
Firestore keeps it on the enterprise document) and writes its audit entries into a ``FakeAuditLog``, all or nothing.
``tests/integration/test_connections_contract.py`` runs the same cases against these and the Firestore adapters.
"""

from __future__ import annotations

from datetime import datetime

from shared.domain.connections.provider_keys import ProviderKeyRecord
from shared.domain.enterprise.audit import AuditEntry
from shared.domain.enterprise.model import ProviderName, ProviderState, ProviderStatus
from shared.errors import Conflict, DependencyUnavailable, NotFound
from shared.ports import AuditCursor, AuditPage
from tests.support.fakes import FakeEnterpriseStore


class FakeAuditLog:
    """Entries per enterprise by id; ``down`` makes every call raise ``DependencyUnavailable``."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, AuditEntry]] = {}
        self.down = False

    def record(self, enterprise_id: str, entry: AuditEntry) -> None:
        if self.down:
            raise DependencyUnavailable("audit log unavailable (fake outage)")
        self.entries.setdefault(enterprise_id, {})[entry.id] = entry

    def page(self, enterprise_id: str, *, limit: int, after: AuditCursor | None) -> AuditPage:
        if self.down:
            raise DependencyUnavailable("audit log unavailable (fake outage)")
        ordered = sorted(self.entries.get(enterprise_id, {}).values(), key=lambda e: (e.at, e.id), reverse=True)
        if after is not None:
            ordered = [e for e in ordered if (e.at, e.id) < (after.at, after.entry_id)]
        found = ordered[:limit]
        more = len(ordered) > limit
        return AuditPage(entries=found, next=AuditCursor(found[-1].at, found[-1].id) if more else None)

    def of(self, enterprise_id: str) -> list[AuditEntry]:
        """Every entry of an enterprise, oldest first."""
        return sorted(self.entries.get(enterprise_id, {}).values(), key=lambda e: (e.at, e.id))


class FakeProviderConnections:
    """Provider states on ``enterprises``' documents, key records aside, audit entries in ``audit``.

    Attributes:
        down: Every call raises ``DependencyUnavailable`` (a Firestore outage); nothing is written.
    """

    def __init__(self, enterprises: FakeEnterpriseStore, audit: FakeAuditLog) -> None:
        self._enterprises = enterprises
        self._audit = audit
        self.records: dict[tuple[str, ProviderName], ProviderKeyRecord] = {}
        self.down = False

    def key_record(self, enterprise_id: str, provider: ProviderName) -> ProviderKeyRecord | None:
        self._check()
        return self.records.get((enterprise_id, provider))

    def key_records(self, enterprise_id: str) -> dict[ProviderName, ProviderKeyRecord]:
        self._check()
        return {provider: record for (e, provider), record in self.records.items() if e == enterprise_id}

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
        self._check()
        self._enterprise(enterprise_id)
        current = self.records.get((enterprise_id, provider))
        if (current.secret_version if current else None) != expected_version:
            raise Conflict("another change to this provider's key finished first", code="concurrent_connect")
        self._set_state(enterprise_id, provider, state, audit.at)
        self.records[(enterprise_id, provider)] = record
        self._audit.entries.setdefault(enterprise_id, {})[audit.id] = audit

    def save_disconnection(
        self,
        enterprise_id: str,
        provider: ProviderName,
        *,
        state: ProviderState,
        audit: AuditEntry,
        expected_version: str | None,
    ) -> None:
        self._check()
        self._enterprise(enterprise_id)
        current = self.records.get((enterprise_id, provider))
        if (current.secret_version if current else None) != expected_version:
            raise Conflict("the key was rotated during the disconnect", code="concurrent_connect")
        self._set_state(enterprise_id, provider, state, audit.at)
        self.records.pop((enterprise_id, provider), None)
        self._audit.entries.setdefault(enterprise_id, {})[audit.id] = audit

    def save_key_record(self, enterprise_id: str, provider: ProviderName, record: ProviderKeyRecord) -> bool:
        self._check()
        current = self.records.get((enterprise_id, provider))
        if current is None or current.secret_version != record.secret_version:
            return False
        self.records[(enterprise_id, provider)] = record
        return True

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
        self._check()
        enterprise = self._enterprises.get(enterprise_id)
        record = self.records.get((enterprise_id, provider))
        state = enterprise.providers.get(provider) if enterprise else None
        if state is None or state.status is not ProviderStatus.CONNECTED or record is None:
            return False
        if secret_version is not None and record.secret_version != secret_version:
            return False
        failed = state.model_copy(update={"status": ProviderStatus.KEY_FAILED, "last_error": error_code})
        self._set_state(enterprise_id, provider, failed, now)
        self.records[(enterprise_id, provider)] = record.model_copy(
            update={"key_failed_at": now, "alert_sent_at": None}
        )
        self._audit.entries.setdefault(enterprise_id, {})[audit.id] = audit
        return True

    # --- internals -----------------------------------------------------------------------------------------------

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("the database is temporarily unavailable (fake outage)")

    def _enterprise(self, enterprise_id: str) -> None:
        if self._enterprises.get(enterprise_id) is None:
            raise NotFound("enterprise not found", code="enterprise_not_found")

    def _set_state(self, enterprise_id: str, provider: ProviderName, state: ProviderState, at: datetime) -> None:
        enterprise = self._enterprises.docs[enterprise_id]
        providers = {**enterprise.providers, provider: state}
        self._enterprises.docs[enterprise_id] = enterprise.model_copy(update={"providers": providers, "updated_at": at})
