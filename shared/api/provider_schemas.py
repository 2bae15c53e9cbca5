"""Request and response models of connecting and disconnecting providers (the ``connect`` function).

Keys come in as ``SecretStr``: a validation error names the field, never the value, and a ``repr`` of a request
shows ``**********``. Responses carry our ``key_id``, never a key or a secret's resource name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, StringConstraints

from shared.domain.enterprise import ProviderName, ProviderStatus
from shared.services.connect_provider import ConnectResult, SyncStatus
from shared.services.disconnect_provider import DisconnectResult

OpenAIOrgId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^org-[A-Za-z0-9]{1,64}$")]


class ConnectOpenAIRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admin_api_key: SecretStr
    """An OpenAI admin key (``sk-admin-...``) with read access to usage and costs."""
    org_id: OpenAIOrgId | None = None
    """The organisation's id (``org-...``): OpenAI does not tell admin keys which organisation they belong to."""


class ConnectAnthropicRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admin_api_key: SecretStr
    """An Anthropic admin key; the organisation is read from the Admin API."""


class SyncView(BaseModel):
    status: SyncStatus
    backfill_days: int


class ConnectResponse(BaseModel):
    success: Literal[True] = True
    provider: ProviderName
    org_id: str | None
    org_name: str | None
    key_id: str
    """Our reference for the stored key; it reveals nothing about the key."""
    permissions: list[str]
    rotated: bool
    """True when this key replaced a connected one (the old one is disabled)."""
    status: ProviderStatus
    sync: SyncView

    @classmethod
    def of(cls, result: ConnectResult) -> ConnectResponse:
        state = result.state
        assert state.key_id is not None
        return cls(
            provider=result.provider,
            org_id=state.org_id,
            org_name=state.org_name,
            key_id=state.key_id,
            permissions=state.permissions,
            rotated=result.rotated,
            status=state.status,
            sync=SyncView(status=result.sync.status, backfill_days=result.sync.backfill_days),
        )


class DisconnectResponse(BaseModel):
    success: Literal[True] = True
    provider: ProviderName
    status: Literal[ProviderStatus.DISCONNECTED] = ProviderStatus.DISCONNECTED
    destroyed_versions: int
    """Stored key versions destroyed by this request (0 when it repeats an earlier disconnect)."""

    @classmethod
    def of(cls, result: DisconnectResult) -> DisconnectResponse:
        return cls(provider=result.provider, destroyed_versions=result.destroyed_versions)
