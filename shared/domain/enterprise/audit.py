"""The audit log of provider keys: who connected, rotated, disconnected or read a key, and when a key failed.

Entries live in ``enterprises/{id}/audit_log/{entry_id}`` (never client-readable; admins read them through the API).
They name the secret version by number and the key by our ``key_id``; they never hold a key, a secret's resource
name or a provider's raw error text.

Entry ids come from the entry's domain key, so a retried write lands on the same document instead of adding a
duplicate: ``connect-openai-v3`` (the version the connect stored), ``disconnect-openai-v3`` (the last version
destroyed), ``key_failed-openai-v3-20261123T090000Z`` (one per failure episode), ``key_read-openai-v3-<read id>``.
A refused connect attempt is an event of its own, named by its time and actor.

Enterprise events (a benchmark-sharing change, member changes, an erasure request) share the log; they have no
provider and are built by ``shared.domain.enterprise.events``.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.domain.enterprise.model import ProviderName


class AuditAction(enum.StrEnum):
    CONNECT = "connect"
    ROTATE = "rotate"
    VALIDATE_FAILED = "validate_failed"
    DISCONNECT = "disconnect"
    KEY_READ = "key_read"
    KEY_FAILED = "key_failed"
    # Enterprise events (no provider): ``target`` names the setting or the member, ``before``/``after`` the values.
    SETTING_CHANGED = "setting_changed"
    MEMBER_INVITED = "member_invited"
    MEMBER_JOINED = "member_joined"
    MEMBER_ROLE_CHANGED = "member_role_changed"
    MEMBER_REMOVED = "member_removed"
    ERASURE_REQUESTED = "erasure_requested"


class ActorKind(enum.StrEnum):
    USER = "user"
    SYSTEM = "system"
    """The platform itself (the sync worker reading a key or finding it rejected)."""


class Actor(BaseModel):
    """Who did it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActorKind
    uid: str | None = None
    email: str | None = None

    @classmethod
    def user(cls, uid: str, email: str | None) -> Actor:
        return cls(kind=ActorKind.USER, uid=uid, email=email)

    @classmethod
    def system(cls, name: str) -> Actor:
        """The platform acting on its own, e.g. ``Actor.system("sync_worker")``."""
        return cls(kind=ActorKind.SYSTEM, uid=name)


class AuditEntry(BaseModel):
    """One audit event."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    at: datetime
    action: AuditAction
    provider: ProviderName | None = None
    """The provider of a key event; ``None`` for an enterprise event (settings, members, erasure)."""
    actor: Actor
    secret_version: int | None = None
    """Number of the secret version concerned (stored, destroyed, read or failing)."""
    replaced_secret_version: int | None = None
    """For a rotation: the version it replaced (disabled once the new one was stored)."""
    key_id: str | None = None
    code: str | None = None
    """Stable error code of a refused attempt or a key failure (e.g. ``provider_key_invalid``)."""
    target: str | None = None
    """Enterprise events: the setting changed, or the member concerned (uid, or email of a pending invite)."""
    before: str | bool | None = None
    after: str | bool | None = None


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ")


def versioned_entry_id(action: AuditAction, provider: ProviderName, version: int, suffix: str | None = None) -> str:
    """``{action}-{provider}-v{version}[-{suffix}]``: one entry per (action, provider, version[, suffix])."""
    base = f"{action.value}-{provider.value}-v{version}"
    return f"{base}-{suffix}" if suffix else base


def episode_entry_id(action: AuditAction, provider: ProviderName, version: int, started: datetime) -> str:
    """One entry per episode that started at ``started`` (a key failure)."""
    return versioned_entry_id(action, provider, version, _stamp(started))


def attempt_entry_id(action: AuditAction, provider: ProviderName, actor: Actor, at: datetime) -> str:
    """An attempt by ``actor`` at ``at``: distinct attempts get distinct ids, a re-sent write the same one."""
    who = hashlib.sha256(f"{actor.kind.value}\x00{actor.uid or ''}".encode()).hexdigest()[:8]
    return f"{action.value}-{provider.value}-{at.strftime('%Y%m%dT%H%M%S%fZ')}-{who}"
