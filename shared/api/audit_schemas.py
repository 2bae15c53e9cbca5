"""Request and response models of the provider-key audit log (served by the ``api`` function, admins only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.api.fields import PageToken
from shared.domain.enterprise.audit import ActorKind, AuditAction, AuditEntry
from shared.domain.enterprise.model import ProviderName
from shared.services.enterprise.audit import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


class AuditLogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    page_token: PageToken | None = None
    """``next_page_token`` of the previous page."""


class AuditActorView(BaseModel):
    kind: ActorKind
    uid: str | None
    email: str | None


class AuditEntryView(BaseModel):
    id: str
    at: datetime
    action: AuditAction
    provider: ProviderName | None
    """``None`` for enterprise events (settings, members, erasure)."""
    actor: AuditActorView
    secret_version: int | None
    replaced_secret_version: int | None
    key_id: str | None
    code: str | None
    target: str | None = None
    """Enterprise events: the setting changed, or the member concerned (uid, or email of a pending invite)."""
    before: str | bool | None = None
    after: str | bool | None = None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryView:
        return cls.model_validate(entry.model_dump())


class AuditLogResponse(BaseModel):
    entries: list[AuditEntryView]
    next_page_token: str | None
    """Pass as ``page_token`` for the next (older) page; ``None`` on the last page."""
