"""Connect (or rotate) a provider's admin key: validate it live, store it, record it, start the history backfill.

The order is what guarantees that nothing is stored on any failure:

1. **Shape**: ``sk-admin-`` (OpenAI) / ``sk-ant-admin`` (Anthropic); a project key is ``not_an_admin_key``, anything
   else ``malformed_key`` (400). Google: a service-account JSON key (``not_a_service_account_key``,
   ``malformed_key``), project ids (``invalid_project_ids``) and an optional billing export table
   (``invalid_billing_export_table``), see ``shared.domain.providers.google.connection``. No provider is called.
2. **Live validation** with ``UsageSource.validate()``: revoked/invalid/disabled → 400 ``provider_key_invalid``; no
   usage scope (Google: no Monitoring access on a project, named in the message) → 400
   ``provider_key_missing_scopes``; Google billing export table unreadable → 400 ``billing_export_unreadable``;
   every other Google refusal keeps its own code and hint (``shared.adapters.google_errors``, README table);
   unreachable, 5xx, 429 or slower than ``provider_validation_timeout_s`` → 503 ``provider_unavailable``
   (retryable). A rotation must stay in the organisation already connected (409 ``provider_org_mismatch``). The
   organisation's verified identifiers are recorded as ``org_keys`` (the peer benchmark counts an organisation
   connected to several enterprises once, ADR 0019).
3. **Secret Manager**: the key becomes the newest version of the (enterprise, provider) secret.
4. **Firestore**, in one transaction: the public ``providers.<p>`` state, the private key record naming the version
   and the audit entry (``connect`` or ``rotate``). If it fails, the version just added is destroyed.
5. **Rotation**: only now is the replaced version disabled; an invalid new key never got this far, so the old one
   keeps working, and its destruction is scheduled ``Settings.superseded_version_grace_days`` later (a named
   ``key_retire`` task: disabled versions are still billed). The new state is ``connected``, which ends a
   ``key_failed`` episode.
6. **Backfill** (first connection, or re-connection after a disconnect): ``Settings.backfill_days`` days cut into
   windows of at most 31 days, one named task each on ``Settings.sync_queue``. If they cannot all be enqueued the
   connection still stands: the record keeps ``backfill_pending`` and the next connect enqueues the same tasks.

Refused attempts are audit-logged as ``validate_failed`` with their code (best effort: an audit outage does not hide
the real error).

Backfill task contract (``sync_worker``, POST with a Cloud Tasks OIDC token), body::

    {"enterprise_id": "ent_…", "providers": ["openai"], "start": "2026-08-26", "end": "2026-09-26",
     "reason": "backfill"}

``start`` is the first UTC day to pull, ``end`` the day *after* the last one (exclusive, as ``UsageSource.pull``
takes it); a window spans at most 31 days. Task names are ``backfill-{enterprise}-{provider}-{start}-{end}``
(``YYYYMMDD``). The worker must be idempotent (queues may deliver twice) and must skip a provider that is no longer
``connected`` when the task runs (it may have been disconnected meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pydantic import SecretStr

from shared.config import Settings
from shared.domain.connections.provider_keys import (
    ProviderKeyRecord,
    check_key_shape,
    display_name,
    key_id_for,
    org_keys_for,
)
from shared.domain.connections.secret_naming import secret_id_for, secret_labels
from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry, attempt_entry_id, versioned_entry_id
from shared.domain.enterprise.model import ProviderName, ProviderState, ProviderStatus
from shared.domain.sync.backfill import (
    BackfillWindow,
    backfill_span,
    backfill_tasks,
)
from shared.domain.usage.records import OrgIdentity, Provider
from shared.errors import (
    BillingExportUnreadable,
    Conflict,
    DependencyUnavailable,
    InvalidInput,
    PlatformError,
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)
from shared.ports import (
    AuditLog,
    Clock,
    EnterpriseStore,
    ProviderConnectionStore,
    SecretStore,
    SecretVersionRef,
    TaskQueue,
    UsageSourceFactory,
)
from shared.services.connections.retire_key_version import retire_task
from shared.services.enterprise.enterprises import get_enterprise

log = logging.getLogger(__name__)

SyncStatus = Literal["started", "pending", "not_needed"]


@dataclass(frozen=True)
class SyncStart:
    status: SyncStatus
    """``started``: backfill tasks enqueued; ``pending``: to be enqueued later; ``not_needed``: a plain rotation."""
    backfill_days: int


@dataclass(frozen=True)
class ConnectResult:
    provider: ProviderName
    state: ProviderState
    rotated: bool
    sync: SyncStart


_PROJECTS = (ProviderName.GOOGLE, ProviderName.AZURE)
"""Providers whose connection names projects (Google projects, Azure OpenAI accounts) and may bill from an export
or query (Cloud Billing export, Cost Management)."""


class ConnectProvider:
    """The connect use case; one instance serves many requests."""

    def __init__(
        self,
        *,
        enterprises: EnterpriseStore,
        connections: ProviderConnectionStore,
        secrets: SecretStore,
        sources: UsageSourceFactory,
        tasks: TaskQueue,
        audit_log: AuditLog,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._enterprises = enterprises
        self._connections = connections
        self._secrets = secrets
        self._sources = sources
        self._tasks = tasks
        self._audit_log = audit_log
        self._clock = clock
        self._settings = settings

    def connect(
        self,
        enterprise_id: str,
        provider: ProviderName,
        api_key: SecretStr,
        actor: Actor,
        *,
        declared_org_id: str | None = None,
    ) -> ConnectResult:
        """Connect ``provider`` with ``api_key`` for ``enterprise_id``, or rotate the key if already connected.

        Raises:
            InvalidInput: Malformed or non-admin key, or a declared org id the provider contradicts.
            ProviderError: The provider refused the key (400) or could not be reached (503).
            Conflict: The key is from another organisation, or a concurrent connect finished first.
            DependencyUnavailable: Secret Manager or Firestore failed; nothing was stored.
        """
        try:
            key = check_key_shape(provider, api_key)
            enterprise = get_enterprise(self._enterprises, enterprise_id)
            identity = self._validate(provider, key)
        except (InvalidInput, ProviderError) as e:
            self._audit_refusal(enterprise_id, provider, actor, e.code)
            raise
        before = enterprise.providers.get(provider)
        previous = self._connections.key_record(enterprise_id, provider)
        org_id, org_name = _organisation(identity, declared_org_id, before if previous else None)

        ref = self._secrets.add_version(
            secret_id_for(enterprise_id, provider.value), key, secret_labels(enterprise_id, provider.value)
        )
        now = self._clock.now()
        record = self._record(ref, previous)
        state = ProviderState(
            connected=True,
            status=ProviderStatus.CONNECTED,
            org_id=org_id,
            org_name=org_name,
            key_id=record.key_id,
            permissions=list(identity.permissions),
            connected_at=before.connected_at if previous and before else now,
            last_sync=before.last_sync if before else None,
            service_account_email=identity.principal if provider is ProviderName.GOOGLE else None,
            project_ids=list(identity.projects) if provider in _PROJECTS else None,
            billing_export_connected=identity.billing_export if provider in _PROJECTS else None,
            role_arn=identity.principal if provider is ProviderName.BEDROCK else None,
            aws_regions=list(identity.projects) if provider is ProviderName.BEDROCK else None,
            cost_explorer_connected=identity.billing_export if provider is ProviderName.BEDROCK else None,
            org_keys=org_keys_for(provider, identity),
        )
        action = AuditAction.ROTATE if previous else AuditAction.CONNECT
        entry = AuditEntry(
            id=versioned_entry_id(action, provider, record.version_number),
            at=now,
            action=action,
            provider=provider,
            actor=actor,
            secret_version=record.version_number,
            replaced_secret_version=previous.version_number if previous else None,
            key_id=record.key_id,
        )
        try:
            self._connections.save_connection(
                enterprise_id,
                provider,
                state=state,
                record=record,
                audit=entry,
                expected_version=previous.secret_version if previous else None,
            )
        except Exception:
            self._discard(ref)
            raise
        log.info(
            "provider connected",
            extra={"enterprise_id": enterprise_id, "provider": provider.value, "rotated": previous is not None},
        )
        if previous is not None:
            self._retire(enterprise_id, provider, SecretVersionRef(previous.secret_version))
        sync = self._start_backfill(enterprise_id, provider, record)
        return ConnectResult(provider=provider, state=state, rotated=previous is not None, sync=sync)

    # --- steps ---------------------------------------------------------------------------------------------------

    def _validate(self, provider: ProviderName, key: SecretStr) -> OrgIdentity:
        """``UsageSource.validate()`` within the validation deadline, errors restated for the user."""
        name = display_name(provider)

        async def run() -> OrgIdentity:
            async with asyncio.timeout(self._settings.provider_validation_timeout_s):
                async with self._sources(Provider(provider.value), key) as source:
                    return await source.validate()

        try:
            return asyncio.run(run())
        except ProviderAuthError as e:
            message = f"{name} rejected the key: {e.hint or 'it is invalid or has been revoked'}"
            raise ProviderAuthError(message, provider=provider.value, code=e.code, hint=e.hint) from e
        except ProviderPermissionError as e:
            what = "read the billing export" if isinstance(e, BillingExportUnreadable) else "read usage and costs"
            message = f"{name} accepted the key but it may not {what}: {e.hint or 'give it read access'}"
            raise type(e)(message, provider=provider.value, code=e.code, hint=e.hint) from e
        except ProviderResponseError as e:
            if e.hint is None:
                raise
            message = f"{name} refused the check: {e.hint}"
            raise ProviderResponseError(message, provider=provider.value, code=e.code, hint=e.hint) from e
        except (ProviderRateLimited, ProviderUnavailable, TimeoutError) as e:
            message = f"{name} could not be reached to check the key: try again in a minute"
            code = e.code if isinstance(e, ProviderUnavailable) else None
            raise ProviderUnavailable(message, provider=provider.value, code=code) from e

    def _record(self, ref: SecretVersionRef, previous: ProviderKeyRecord | None) -> ProviderKeyRecord:
        now = self._clock.now()
        record = ProviderKeyRecord(secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=now)
        if previous is not None:  # a rotation keeps the backfill plan, pending or done
            plan = previous.model_dump(include={"backfill_start", "backfill_end", "backfill_pending"})
            return record.model_copy(update=plan)
        # First connection, or again after a disconnect: fetch the history.
        span = backfill_span(now.date(), self._settings.backfill_days)
        return record.model_copy(
            update={"backfill_start": span.start, "backfill_end": span.end_exclusive, "backfill_pending": True}
        )

    def _discard(self, ref: SecretVersionRef) -> None:
        """Destroy a version whose connection could not be recorded, so no unreferenced key is left behind."""
        try:
            self._secrets.destroy_version(ref)
        except PlatformError:
            log.exception("could not destroy an unrecorded secret version", extra={"version_name": ref.name})

    def _retire(self, enterprise_id: str, provider: ProviderName, ref: SecretVersionRef) -> None:
        """Disable the replaced version now and schedule its destruction after the grace period (it stays billed
        while disabled): ``shared.services.connections.retire_key_version``."""
        try:
            self._secrets.disable_version(ref)
        except PlatformError:
            # The rotation stands (the new key is stored and recorded); the old version stays enabled until an
            # operator, the next rotation's clean-up or a disconnect removes it.
            log.exception("could not disable the replaced secret version", extra={"version_name": ref.name})
            return
        due = self._clock.now() + timedelta(days=self._settings.superseded_version_grace_days)
        try:
            result = self._tasks.enqueue(self._settings.retire_queue, [retire_task(enterprise_id, provider, ref, due)])
        except PlatformError:
            result = None
        if result is None or result.failed:
            # Disabled, so unreadable; only its billing continues until a disconnect or erasure destroys it.
            log.warning("destruction of the replaced key version not scheduled", extra={"version_name": ref.name})

    def _start_backfill(self, enterprise_id: str, provider: ProviderName, record: ProviderKeyRecord) -> SyncStart:
        if not record.backfill_pending or record.backfill_start is None or record.backfill_end is None:
            return SyncStart("not_needed", 0)
        span = BackfillWindow(record.backfill_start, record.backfill_end)
        specs = backfill_tasks(enterprise_id, provider, span)
        context = {"enterprise_id": enterprise_id, "provider": provider.value, "tasks": len(specs)}
        try:
            result = self._tasks.enqueue(self._settings.sync_queue, specs)
        except DependencyUnavailable:
            log.warning("backfill not enqueued; it stays pending", extra=context)
            return SyncStart("pending", span.days)
        if result.failed:
            log.warning("backfill partly enqueued; it stays pending", extra={**context, "failed": len(result.failed)})
            return SyncStart("pending", span.days)
        try:
            self._connections.save_key_record(
                enterprise_id, provider, record.model_copy(update={"backfill_pending": False})
            )
        except PlatformError:
            # Harmless: enqueuing again later names the same tasks.
            log.warning("backfill enqueued but not marked done", extra=context)
        log.info("backfill enqueued", extra=context)
        return SyncStart("started", span.days)

    def _audit_refusal(self, enterprise_id: str, provider: ProviderName, actor: Actor, code: str) -> None:
        now = self._clock.now()
        entry = AuditEntry(
            id=attempt_entry_id(AuditAction.VALIDATE_FAILED, provider, actor, now),
            at=now,
            action=AuditAction.VALIDATE_FAILED,
            provider=provider,
            actor=actor,
            code=code,
        )
        try:
            self._audit_log.record(enterprise_id, entry)
        except PlatformError:
            log.warning("refused connect attempt not audit-logged", extra={"enterprise_id": enterprise_id})


def _organisation(
    identity: OrgIdentity, declared_org_id: str | None, current: ProviderState | None
) -> tuple[str | None, str | None]:
    """The organisation's id and name: what the provider says, else what the admin declared (OpenAI discloses no
    org id to admin keys), else, for a rotation, what was recorded. ``current`` is the state being rotated."""
    verified = identity.org_id
    if verified and declared_org_id and verified != declared_org_id:
        raise InvalidInput("the key belongs to another organisation than org_id", code="org_id_mismatch")
    if current is not None and current.org_id and verified and verified != current.org_id:
        raise Conflict(
            "this key belongs to another organisation than the one connected: disconnect it first",
            code="provider_org_mismatch",
        )
    org_id = verified or declared_org_id or (current.org_id if current else None)
    org_name = identity.org_name or (current.org_name if current and current.org_id == org_id else None)
    return org_id, org_name
