"""Key health: when a provider rejects a stored key, mark it ``key_failed`` and tell the enterprise's admins once.

The sync worker calls ``KeyHealth.record_key_failure`` when a pull fails with ``ProviderAuthError`` (key revoked or
invalid) or ``ProviderPermissionError`` (scopes removed). A failure *episode* starts when the provider's status
moves from ``connected`` to ``key_failed`` (one transaction with its ``key_failed`` audit entry) and ends when an
admin connects a working key (a rotation writes ``connected`` again). Within an episode the admins get one email,
however often the failure is recorded again:

* the transition happens at most once, so later calls find the episode started and add nothing;
* the email goes out while the key record says no alert was sent for the episode, and the record is marked once it
  has. If the mail relay is down, ``DependencyUnavailable`` propagates (the worker answers 503, Cloud Tasks retries)
  and the retry sends it; a crash between sending and marking can at worst send it twice.

Passing the ``SecretVersionRef`` the worker used makes a late report about a key already rotated away a no-op.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from shared.config import Settings
from shared.domain.connections.provider_keys import display_name
from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry, episode_entry_id
from shared.domain.enterprise.model import Enterprise, ProviderName, Role
from shared.domain.text import header_text
from shared.errors import ProviderAuthError, ProviderPermissionError
from shared.ports import Clock, EnterpriseStore, Mailer, ProviderConnectionStore, SecretVersionRef

log = logging.getLogger(__name__)

_REASONS = {
    "provider_key_invalid": "the key is invalid or has been revoked",
    "provider_key_missing_scopes": "the key is no longer allowed to read usage and costs",
    "billing_export_unreadable": "the service account can no longer read the Cloud Billing export",
    "billing_export_not_found": "the Cloud Billing export table can no longer be found",
    "billing_export_invalid": "the connected table no longer reads as a Cloud Billing export",
    "google_api_disabled": "an API the platform reads (Cloud Monitoring or BigQuery) was disabled in a project",
    "google_project_not_found": "a connected Google Cloud project no longer exists",
    "aws_role_not_assumable": "the IAM role can no longer be assumed (deleted, or its trust policy changed)",
    "aws_missing_permission": "the IAM role may no longer read CloudWatch metrics or Cost Explorer",
    "aws_cost_explorer_not_enabled": "Cost Explorer is not enabled in the AWS account",
    "azure_federation_refused": "Entra ID no longer trusts the platform for the app registration",
    "azure_missing_role": "the service principal lost a role assignment it needs",
    "azure_account_not_found": "an Azure OpenAI account was deleted or moved",
}
_WHAT_TO_CONNECT = {
    ProviderName.GOOGLE: (
        "Give the service account back its roles, or create a new service-account key\n"
        "that can read Cloud Monitoring (and the billing export), then connect it on the settings page:"
    ),
}
_WHAT_TO_CONNECT[ProviderName.BEDROCK] = (
    "Restore the role's trust and permissions policies (the settings page shows them),\n"
    "or connect the role again on the settings page:"
)
_WHAT_TO_CONNECT[ProviderName.AZURE] = (
    "Restore the app registration's federated credential and role assignments (the settings page shows them),\n"
    "or connect Azure OpenAI again on the settings page:"
)
_KINDS = {
    ProviderName.GOOGLE: "service-account key",
    ProviderName.BEDROCK: "IAM role",
    ProviderName.AZURE: "service principal",
}
_ADMIN_KEY = (
    "Create a new admin key\n"
    "that can read usage and costs, then connect it on the settings page (the old one is replaced):"
)


class KeyHealth:
    """Records key failures and alerts admins once per failure episode."""

    def __init__(
        self,
        *,
        enterprises: EnterpriseStore,
        connections: ProviderConnectionStore,
        mailer: Mailer,
        clock: Clock,
        settings: Settings,
        actor: Actor | None = None,
    ) -> None:
        self._enterprises = enterprises
        self._connections = connections
        self._mailer = mailer
        self._clock = clock
        self._settings = settings
        self._actor = actor or Actor.system("sync_worker")

    def record_key_failure(
        self,
        enterprise_id: str,
        provider: ProviderName,
        error: ProviderAuthError | ProviderPermissionError,
        *,
        secret_version: SecretVersionRef | None = None,
    ) -> bool:
        """Record that ``provider`` rejected ``enterprise_id``'s stored key.

        Args:
            error: The provider's refusal; its ``code`` becomes the state's ``last_error``.
            secret_version: The version the caller used; if the current key is another one, nothing happens.

        Returns:
            Whether this call started a failure episode.

        Raises:
            DependencyUnavailable: Firestore or the mail relay failed; calling again is safe.
        """
        now = self._clock.now()
        record = self._connections.key_record(enterprise_id, provider)
        if record is None:
            log.info("key failure for a provider without a key ignored", extra=_ctx(enterprise_id, provider))
            return False
        version = int(secret_version.version) if secret_version else record.version_number
        entry = AuditEntry(
            id=episode_entry_id(AuditAction.KEY_FAILED, provider, version, now),
            at=now,
            action=AuditAction.KEY_FAILED,
            provider=provider,
            actor=self._actor,
            secret_version=version,
            key_id=record.key_id,
            code=error.code,
        )
        started = self._connections.mark_key_failed(
            enterprise_id,
            provider,
            secret_version=secret_version.name if secret_version else None,
            error_code=error.code,
            audit=entry,
            now=now,
        )
        if started:
            log.warning("provider key failed", extra={**_ctx(enterprise_id, provider), "error_code": error.code})
        self._alert_if_due(enterprise_id, provider, error.code)
        return started

    def _alert_if_due(self, enterprise_id: str, provider: ProviderName, code: str) -> None:
        record = self._connections.key_record(enterprise_id, provider)
        if record is None or record.key_failed_at is None or record.alert_sent_at is not None:
            return
        enterprise = self._enterprises.get(enterprise_id)
        recipients = _admin_emails(enterprise) if enterprise else []
        if recipients and enterprise:
            self._mailer.send(self._alert(enterprise, provider, code, recipients))
            log.info("key failure alert sent", extra={**_ctx(enterprise_id, provider), "recipients": len(recipients)})
        else:
            log.warning("key failed but no admin has an email address", extra=_ctx(enterprise_id, provider))
        self._connections.save_key_record(
            enterprise_id, provider, record.model_copy(update={"alert_sent_at": self._clock.now()})
        )

    def _alert(self, enterprise: Enterprise, provider: ProviderName, code: str, recipients: list[str]) -> EmailMessage:
        name = display_name(provider)
        message = EmailMessage()
        kind = _KINDS.get(provider, "admin key")
        message["Subject"] = header_text(f"Action needed: the {name} {kind} of {enterprise.name} stopped working")
        message["From"] = self._settings.mail_from
        message["To"] = ", ".join(recipients)
        reason = _REASONS.get(code, "the provider refused the key")
        message.set_content(
            f"{name} refused the {kind} connected to {enterprise.name}: {reason}.\n\n"
            f"Usage and costs from {name} are not synced until a working key is connected. "
            f"{_WHAT_TO_CONNECT.get(provider, _ADMIN_KEY)}\n\n"
            f"    {self._settings.site_settings_url}\n\n"
            f"You receive this message once per failure, as an admin of {enterprise.name}.\n"
        )
        return message


def _admin_emails(enterprise: Enterprise) -> list[str]:
    return sorted({m.email for m in enterprise.members.values() if m.role is Role.ADMIN and m.email})


def _ctx(enterprise_id: str, provider: ProviderName) -> dict[str, str]:
    return {"enterprise_id": enterprise_id, "provider": provider.value}
