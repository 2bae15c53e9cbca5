"""Audit entries for enterprise events: a benchmark-sharing change, member changes, an erasure request.

They share ``enterprises/{id}/audit_log`` with the provider-key entries of ``shared.domain.enterprise.audit``. An
entry's id comes from its action, time, actor and target, and a use case takes the time once per request, so a retried
transaction rewrites the same entry instead of adding a second one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry


def event_entry_id(action: AuditAction, at: datetime, actor: Actor, target: str | None) -> str:
    """``{action}-{time to the microsecond}-{hash of actor and target}``: ordered by time within an action."""
    who = hashlib.sha256(f"{actor.kind.value}\x00{actor.uid or ''}\x00{target or ''}".encode()).hexdigest()[:10]
    return f"{action.value}-{at.strftime('%Y%m%dT%H%M%S%fZ')}-{who}"


def event_entry(
    action: AuditAction,
    *,
    actor: Actor,
    at: datetime,
    target: str | None = None,
    before: str | bool | None = None,
    after: str | bool | None = None,
) -> AuditEntry:
    """One enterprise event by ``actor`` at ``at`` concerning ``target`` (a setting's name or a member)."""
    return AuditEntry(
        id=event_entry_id(action, at, actor, target),
        at=at,
        action=action,
        actor=actor,
        target=target,
        before=before,
        after=after,
    )
