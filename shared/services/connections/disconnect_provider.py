"""Disconnect a provider: destroy every stored version of its key, then record it as ``disconnected``.

The key goes first: once Secret Manager has destroyed the versions no one can read the key again, and a
``disconnected`` state is never written while a usable key remains. The usage history (snapshots, months) is kept;
the public state keeps the organisation and ``last_sync`` so the dashboard can still label that history.

A rotation racing the disconnect (ADR 0016) cannot leave a usable key behind: the disconnection is written only if
the key record still names the version read before destroying (a transaction); if a rotation recorded a new version
meanwhile, the disconnect destroys again and retries. After it is written, the versions are destroyed once more, and
a rotation that added its version but records it later finds no record to replace and discards its version.

A retry after a partial failure is safe: destroying is idempotent, and an already disconnected provider answers
with ``already_disconnected`` and writes nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.domain.connections.provider_keys import ProviderKeyRecord
from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry, attempt_entry_id, versioned_entry_id
from shared.domain.enterprise.model import ProviderName, ProviderState, ProviderStatus
from shared.errors import Conflict, NotFound
from shared.ports import Clock, EnterpriseStore, ProviderConnectionStore, SecretStore
from shared.services.enterprise.enterprises import get_enterprise

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
"""Rotations that keep landing during one disconnect make it answer 409 after this many rounds."""


@dataclass(frozen=True)
class DisconnectResult:
    provider: ProviderName
    destroyed_versions: int
    """Key versions destroyed by this call."""
    already_disconnected: bool


def disconnect_provider(
    *,
    enterprises: EnterpriseStore,
    connections: ProviderConnectionStore,
    secrets: SecretStore,
    clock: Clock,
    enterprise_id: str,
    provider: ProviderName,
    actor: Actor,
) -> DisconnectResult:
    """Disconnect ``provider`` from ``enterprise_id``.

    Raises:
        NotFound: ``provider_not_connected`` if the provider was never connected.
        DependencyUnavailable: Secret Manager or Firestore failed (retry: every step is idempotent).
    """
    secret_id = secret_id_for(enterprise_id, provider.value)
    destroyed = 0
    for _ in range(MAX_ATTEMPTS):
        enterprise = get_enterprise(enterprises, enterprise_id)
        state = enterprise.providers.get(provider)
        record = connections.key_record(enterprise_id, provider)
        if state is None and record is None:
            raise NotFound(f"{provider.value} is not connected", code="provider_not_connected")
        destroyed += secrets.destroy_all_versions(secret_id)
        if record is None and state is not None and state.status is ProviderStatus.DISCONNECTED:
            return DisconnectResult(provider, destroyed, already_disconnected=True)
        try:
            _save(connections, clock, enterprise_id, provider, state, record, actor)
        except Conflict:
            # A rotation stored a new version after we destroyed what we knew: destroy again, then record.
            log.info("key rotated during a disconnect", extra={"enterprise_id": enterprise_id, "provider": provider})
            continue
        # A rotation that added its version before our write but had not recorded it yet will find the record gone
        # and discard its version; destroying once more covers that discard failing.
        destroyed += secrets.destroy_all_versions(secret_id)
        log.info(
            "provider disconnected",
            extra={"enterprise_id": enterprise_id, "provider": provider.value, "destroyed_versions": destroyed},
        )
        return DisconnectResult(provider, destroyed, already_disconnected=False)
    raise Conflict("the key keeps being rotated; try the disconnect again", code="concurrent_connect")


def _save(
    connections: ProviderConnectionStore,
    clock: Clock,
    enterprise_id: str,
    provider: ProviderName,
    state: ProviderState | None,
    record: ProviderKeyRecord | None,
    actor: Actor,
) -> None:
    now = clock.now()
    base = state or ProviderState(connected=False, status=ProviderStatus.DISCONNECTED)
    disconnected = base.model_copy(
        update={"connected": False, "status": ProviderStatus.DISCONNECTED, "key_id": None, "last_error": None}
    )
    entry = AuditEntry(
        id=(
            versioned_entry_id(AuditAction.DISCONNECT, provider, record.version_number)
            if record
            else attempt_entry_id(AuditAction.DISCONNECT, provider, actor, now)
        ),
        at=now,
        action=AuditAction.DISCONNECT,
        provider=provider,
        actor=actor,
        secret_version=record.version_number if record else None,
        key_id=record.key_id if record else None,
    )
    connections.save_disconnection(
        enterprise_id,
        provider,
        state=disconnected,
        audit=entry,
        expected_version=record.secret_version if record else None,
    )
