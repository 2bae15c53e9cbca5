"""Provider admin keys as the platform handles them: their shape, our opaque reference, and the private record.

A key is checked for shape before anything else, so an obviously wrong paste never reaches a provider: OpenAI admin
keys start ``sk-admin-``, Anthropic admin keys ``sk-ant-admin``. A project/workspace key (OpenAI ``sk-proj-`` or
``sk-svcacct-``, Anthropic ``sk-ant-api``) is refused with ``not_an_admin_key``, so the user learns which key to
create; anything else is ``malformed_key``. Messages name the provider and the kind of key, never the value (nor
the admin prefixes, which the log redaction would mangle). Google's "key" is a service-account key with its project
ids and billing export table (``shared.domain.providers.google.connection``), checked and normalised the same way.

The key itself lives only in Secret Manager. Firestore holds, in the server-only document
``enterprises/{id}/private/providers``, a ``ProviderKeyRecord`` per provider naming the secret version; clients see
``key_id`` only, a short hash of that version's name that reveals neither the key nor the resource name.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, SecretStr

from shared.domain.enterprise.model import ProviderName
from shared.domain.providers.azure.connection import parse_connection as parse_azure_connection
from shared.domain.providers.bedrock.connection import parse_connection as parse_bedrock_connection
from shared.domain.providers.google.connection import parse_connection
from shared.domain.usage.records import OrgIdentity
from shared.errors import InvalidInput

MAX_KEY_LENGTH = 512
_KEY_BODY = re.compile(r"[A-Za-z0-9_-]{8,}")
_ADMIN_PREFIX = {ProviderName.OPENAI: "sk-admin-", ProviderName.ANTHROPIC: "sk-ant-admin"}
_PROJECT_PREFIXES = {
    ProviderName.OPENAI: ("sk-proj-", "sk-svcacct-"),
    ProviderName.ANTHROPIC: ("sk-ant-api",),
}
_DISPLAY = {
    ProviderName.OPENAI: "OpenAI",
    ProviderName.ANTHROPIC: "Anthropic",
    ProviderName.GOOGLE: "Google",
    ProviderName.BEDROCK: "Amazon Bedrock",
    ProviderName.AZURE: "Azure OpenAI",
}
_WHERE_TO_CREATE = {
    ProviderName.OPENAI: "create one under Organization settings → Admin keys on platform.openai.com",
    ProviderName.ANTHROPIC: "create one under Settings → Admin keys in the Claude Console",
}
CONNECTABLE = frozenset({*_ADMIN_PREFIX, ProviderName.GOOGLE, ProviderName.BEDROCK, ProviderName.AZURE})
"""Providers that can be connected (OpenAI and Anthropic with admin keys, Google with a service-account key, Amazon
Bedrock with an IAM role or an access key, Azure OpenAI with a federated service principal or a client secret)."""


def display_name(provider: ProviderName) -> str:
    return _DISPLAY.get(provider, provider.value)


def check_key_shape(provider: ProviderName, key: SecretStr) -> SecretStr:
    """The key, normalised, if it has the shape ``provider`` needs (see the module docstring).

    Raises:
        InvalidInput: ``not_an_admin_key`` / ``not_a_service_account_key``, ``malformed_key`` and, for Google,
            ``invalid_project_ids`` / ``invalid_billing_export_table``.
    """
    if provider is ProviderName.GOOGLE:
        return parse_connection(key).to_secret()
    if provider is ProviderName.BEDROCK:
        return parse_bedrock_connection(key).to_secret()
    if provider is ProviderName.AZURE:
        return parse_azure_connection(key).to_secret()
    return check_admin_key_shape(provider, key)


def check_admin_key_shape(provider: ProviderName, key: SecretStr) -> SecretStr:
    """The key, without surrounding whitespace, if it is shaped like ``provider``'s admin key.

    Raises:
        InvalidInput: ``not_an_admin_key`` for a project/workspace key of the provider, ``malformed_key`` otherwise.
    """
    value = key.get_secret_value().strip()
    name = display_name(provider)
    admin_prefix = _ADMIN_PREFIX.get(provider)
    if admin_prefix is None:
        raise InvalidInput(f"{name} keys cannot be connected", code="unsupported_provider")
    if value.startswith(_PROJECT_PREFIXES[provider]):
        raise InvalidInput(
            f"this is an {name} project key, not an admin key: {_WHERE_TO_CREATE[provider]}", code="not_an_admin_key"
        )
    body = value[len(admin_prefix) :]
    if not value.startswith(admin_prefix) or len(value) > MAX_KEY_LENGTH or not _KEY_BODY.fullmatch(body):
        raise InvalidInput(
            f"this does not look like an {name} admin key: {_WHERE_TO_CREATE[provider]}", code="malformed_key"
        )
    return SecretStr(value)


def key_id_for(secret_version_name: str) -> str:
    """Our client-facing reference for a stored key: ``key_`` and 16 hex digits of its version name's SHA-256."""
    return "key_" + hashlib.sha256(secret_version_name.encode("utf-8")).hexdigest()[:16]


class ProviderKeyRecord(BaseModel):
    """``enterprises/{id}/private/providers`` → ``{provider}``: server-only facts about the current key."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    secret_version: str
    """Full Secret Manager version name, ``projects/P/secrets/S/versions/N``."""
    key_id: str
    stored_at: datetime
    backfill_start: date | None = None
    """First day of the history backfill planned when the provider was (re)connected."""
    backfill_end: date | None = None
    """Day after the backfill's last day (exclusive)."""
    backfill_pending: bool = False
    """The backfill tasks are not all enqueued yet; the next connect (or the sync dispatcher) enqueues them."""
    key_failed_at: datetime | None = None
    """Start of the current key-failure episode; ``None`` while the key works."""
    alert_sent_at: datetime | None = None
    """When the admins were told about the current episode."""

    @property
    def version_number(self) -> int:
        return int(self.secret_version.rsplit("/", 1)[1])


def org_keys_for(provider: ProviderName, identity: OrgIdentity) -> list[str] | None:
    """The provider organisation's verified identifiers, as the peer benchmark compares them (ADR 0019).

    Only what the provider itself reported counts, never an id the admin typed: Anthropic's organisation id
    (``/v1/organizations/me``), OpenAI's organisation id when a response names it and its project ids (globally
    unique), Google's project ids (each shown readable with the key), the AWS account of Bedrock's role (from STS;
    its regions identify nothing), the Entra ID tenant of Azure OpenAI's service principal (the tenant that issued
    its token; account names are not globally unique). None when the provider reported none: such a connection is
    left out of peer benchmarks, since its usage could be anyone's organisation's.
    """
    keys = [f"{provider.value}:org:{identity.org_id}"] if identity.org_id else []
    if provider not in (ProviderName.BEDROCK, ProviderName.AZURE):  # regions / account names: not unique
        keys += [f"{provider.value}:project:{project}" for project in sorted(set(identity.projects))]
    return keys or None
