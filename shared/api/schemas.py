"""Request and response models of the public API: one model per direction of data flow.

Inputs forbid unknown fields (a typo is a 400, not a silently ignored setting); outputs are what the hosted site
reads and what the OpenAPI document publishes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.enterprise.model import (
    Enterprise,
    EnterpriseName,
    EnterpriseSettings,
    Industry,
    ProviderName,
    ProviderStatus,
    Role,
)
from shared.domain.sync.coverage import SyncCoverage, SyncHealth, health_of


class CreateEnterpriseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EnterpriseName
    industry: Industry = Industry.OTHER


class MemberView(BaseModel):
    uid: str
    email: str | None
    role: Role
    added_at: datetime


class ProviderView(BaseModel):
    connected: bool
    status: ProviderStatus
    org_id: str | None = None
    org_name: str | None = None
    key_id: str | None = None
    permissions: list[str] = Field(default_factory=list)
    last_sync: datetime | None = None
    service_account_email: str | None = None
    """Google: the connected service account."""
    project_ids: list[str] | None = None
    """Google: the projects whose Gemini usage is read."""
    billing_export_connected: bool | None = None
    """Google: ``true`` when costs are billed (Cloud Billing export), ``false`` when estimated at list prices."""
    role_arn: str | None = None
    """Bedrock: the IAM role assumed (``null`` with the access-key fallback)."""
    aws_regions: list[str] | None = None
    """Bedrock: the regions whose usage is read."""
    cost_explorer_connected: bool | None = None
    """Bedrock: ``true`` when costs are billed (Cost Explorer), ``false`` when estimated at list prices."""
    sync_health: SyncHealth | None = None
    """Which days are missing, pending or never available, and whether the sync is failing (ADR 0016); ``null``
    before the first sync, or in answers that do not read it (``PATCH``)."""


class EnterpriseResponse(BaseModel):
    id: str
    name: str
    industry: Industry
    created_at: datetime
    updated_at: datetime
    settings: EnterpriseSettings
    providers: dict[ProviderName, ProviderView]
    your_role: Role
    members: list[MemberView]

    @classmethod
    def of(
        cls, enterprise: Enterprise, uid: str, coverage: Mapping[ProviderName, SyncCoverage] | None = None
    ) -> EnterpriseResponse:
        role = enterprise.role_of(uid)
        assert role is not None
        return cls(
            id=enterprise.id,
            name=enterprise.name,
            industry=enterprise.industry,
            created_at=enterprise.created_at,
            updated_at=enterprise.updated_at,
            settings=enterprise.settings,
            providers={
                name: ProviderView.model_validate(
                    {**state.model_dump(), "sync_health": _health((coverage or {}).get(name))}
                )
                for name, state in enterprise.providers.items()
            },
            your_role=role,
            members=[
                MemberView(uid=member_uid, email=m.email, role=m.role, added_at=m.added_at)
                for member_uid, m in sorted(enterprise.members.items())
            ],
        )


def _health(coverage: SyncCoverage | None) -> SyncHealth | None:
    return health_of(coverage) if coverage is not None else None
