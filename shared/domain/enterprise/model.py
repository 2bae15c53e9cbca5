"""Enterprises, their members and settings: the tenant of the platform.

One enterprise is one customer organisation's account here. All of its provider accounts belong to it; peer
benchmarks count provider organisations, not enterprises, so enterprises that connected the same organisation count
once (``shared.domain.peers.units``).
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from shared.domain.text import PLAIN_TEXT


class Role(enum.StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


class Industry(enum.StrEnum):
    """Coarse sectors for peer buckets: a fixed, pre-declared list (at most 8 plus "other")."""

    TECHNOLOGY = "technology"
    FINANCE = "finance"
    HEALTHCARE = "healthcare"
    RETAIL = "retail"
    MEDIA = "media"
    MANUFACTURING = "manufacturing"
    PROFESSIONAL_SERVICES = "professional_services"
    PUBLIC_SECTOR = "public_sector"
    OTHER = "other"


class ProviderName(enum.StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GOOGLE = "google"
    BEDROCK = "bedrock"
    AZURE = "azure"


class ProviderStatus(enum.StrEnum):
    CONNECTED = "connected"
    KEY_FAILED = "key_failed"
    DISCONNECTED = "disconnected"


EnterpriseName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), PLAIN_TEXT]


class EnterpriseSettings(BaseModel):
    """Preferences an admin controls."""

    model_config = ConfigDict(extra="forbid")

    sync_frequency: Literal["daily", "hourly"] = "daily"
    email_reports: bool = True
    report_recipients: list[EmailStr] = Field(default_factory=list, max_length=50)
    """Who receives the monthly report; empty means the enterprise's admins."""
    share_anonymous_benchmarks: bool = False
    """Opt-in: contribute to (and see a position in) the anonymous peer benchmark."""


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None
    role: Role
    added_at: datetime
    email_verified: bool = False
    """Whether the identity provider had verified ``email`` when the member joined (peer benchmarks count only
    verified admin domains). Members recorded before this field existed count as unverified."""


class Invite(BaseModel):
    """A pending member, invited by email; becomes a ``Member`` only when the invitee accepts it explicitly."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    invited_at: datetime
    invited_by: str
    """The inviting admin's uid."""


class ProviderState(BaseModel):
    """What the client may see about a connected provider. The key reference lives elsewhere (not client-readable)."""

    model_config = ConfigDict(extra="ignore")

    connected: bool
    status: ProviderStatus
    org_id: str | None = None
    org_name: str | None = None
    key_id: str | None = None
    """Our reference for the key (never the key, never the secret's resource name)."""
    permissions: list[str] = Field(default_factory=list)
    connected_at: datetime | None = None
    last_sync: datetime | None = None
    last_error: str | None = None
    service_account_email: str | None = None
    """Google: the service account whose key is connected (an address, not a credential)."""
    project_ids: list[str] | None = None
    """Google: the projects whose Gemini usage is read; Azure OpenAI: the accounts."""
    billing_export_connected: bool | None = None
    """Google: whether costs come from the Cloud Billing export (billed) or from list prices (estimated); Azure
    OpenAI: from Cost Management."""
    role_arn: str | None = None
    """Bedrock: the IAM role the platform assumes (empty with the access-key fallback)."""
    aws_regions: list[str] | None = None
    """Bedrock: the regions whose usage is read."""
    cost_explorer_connected: bool | None = None
    """Bedrock: whether costs come from Cost Explorer (billed) or from list prices (estimated)."""
    org_keys: list[str] | None = None
    """Verified identifiers of the provider organisation (``provider_keys.org_keys_for``): peer benchmarks count an
    organisation connected to several enterprises once. None for connections made before they were recorded."""


class Enterprise(BaseModel):
    """``enterprises/{id}``."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    industry: Industry = Industry.OTHER
    created_at: datetime
    updated_at: datetime
    created_by: str
    settings: EnterpriseSettings = Field(default_factory=EnterpriseSettings)
    members: dict[str, Member]
    member_uids: list[str]
    """Denormalised member ids, so "my enterprises" is one array-contains query."""
    providers: dict[ProviderName, ProviderState] = Field(default_factory=dict)
    status: Literal["active", "closing"] = "active"
    closing_since: datetime | None = None
    """When erasure was requested (status became ``closing``); the retention sweeper re-enqueues the erasure of an
    enterprise still closing long after it."""
    invites: dict[str, Invite] = Field(default_factory=dict)
    """Pending invites keyed by lower-cased email (see ``shared.domain.enterprise.members``)."""
    invited_emails: list[str] = Field(default_factory=list)
    """Denormalised ``invites`` keys, so "invites for this email" is one array-contains query."""

    def role_of(self, uid: str) -> Role | None:
        member = self.members.get(uid)
        return member.role if member else None

    @property
    def admin_uids(self) -> list[str]:
        return sorted(uid for uid, m in self.members.items() if m.role is Role.ADMIN)


class Membership(BaseModel):
    """A user's role in one enterprise."""

    model_config = ConfigDict(frozen=True)

    enterprise_id: str
    role: Role


def enterprise_id_for(creator_uid: str, request_id: str) -> str:
    """A deterministic id from the creating user and their idempotency key, so a retried create is a no-op."""
    digest = hashlib.sha256(f"{creator_uid}\x00{request_id}".encode()).hexdigest()
    return f"ent_{digest[:20]}"
