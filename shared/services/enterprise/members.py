"""Use cases of an enterprise's admins for its members: invite, change a role, remove (the invitee's side is
``shared.services.enterprise.invitations``).

Every change runs inside ``EnterpriseStore.update`` (a Firestore transaction): ``members`` with ``member_uids``,
``invites`` with ``invited_emails`` and the audit entry are written together or not at all. The rules themselves
live in ``shared.domain.enterprise.members``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.domain.enterprise import members as rules
from shared.domain.enterprise.audit import Actor, AuditAction
from shared.domain.enterprise.callers import User
from shared.domain.enterprise.events import event_entry
from shared.domain.enterprise.model import Enterprise, Role
from shared.errors import NotFound
from shared.ports import Clock, EnterpriseChange, EnterpriseStore

log = logging.getLogger(__name__)


def _actor(user: User) -> Actor:
    return Actor.user(user.uid, user.email)


def _on_active(
    apply: Callable[[Enterprise], EnterpriseChange | None],
) -> Callable[[Enterprise], EnterpriseChange | None]:
    """Refuse changes to an enterprise that is closing: to its members it no longer exists."""

    def change(enterprise: Enterprise) -> EnterpriseChange | None:
        if enterprise.status != "active":
            raise NotFound("enterprise not found", code="enterprise_not_found")
        return apply(enterprise)

    return change


def invite_member(
    store: EnterpriseStore, clock: Clock, actor: User, enterprise_id: str, *, email: str, role: Role
) -> tuple[Enterprise, bool]:
    """Invite ``email`` with ``role``; returns the enterprise and whether anything changed.

    Raises:
        Conflict: ``already_member`` or ``seat_limit``.
    """
    now = clock.now()
    key = rules.normalise_email(email)
    changed: list[bool] = []

    def apply(enterprise: Enterprise) -> EnterpriseChange | None:
        updated = rules.invite(enterprise, email=key, role=role, by=actor.uid, now=now)
        changed[:] = [updated is not None]
        if updated is None:
            return None
        entry = event_entry(AuditAction.MEMBER_INVITED, actor=_actor(actor), at=now, target=key, after=role.value)
        return EnterpriseChange(updated, [entry])

    enterprise = store.update(enterprise_id, _on_active(apply))
    if changed[0]:
        log.info("member invited", extra={"enterprise_id": enterprise_id, "role": role.value})
    return enterprise, changed[0]


def change_role(
    store: EnterpriseStore, clock: Clock, actor: User, enterprise_id: str, member_id: str, role: Role
) -> Enterprise:
    """Give a member (uid) or a pending invite (email) ``role``.

    Raises:
        NotFound: ``member_not_found``.
        Conflict: ``last_admin``.
    """
    now = clock.now()

    def apply(enterprise: Enterprise) -> EnterpriseChange | None:
        before = _role_of(enterprise, member_id)
        updated = rules.change_role(enterprise, member_id, role, now=now)
        if updated is None:
            return None
        entry = event_entry(
            AuditAction.MEMBER_ROLE_CHANGED,
            actor=_actor(actor),
            at=now,
            target=_target(member_id),
            before=before,
            after=role.value,
        )
        return EnterpriseChange(updated, [entry])

    return store.update(enterprise_id, _on_active(apply))


def remove_member(store: EnterpriseStore, clock: Clock, actor: User, enterprise_id: str, member_id: str) -> None:
    """Remove a member (uid) or withdraw a pending invite (email).

    Raises:
        NotFound: ``member_not_found``.
        Conflict: ``last_admin``.
    """
    now = clock.now()

    def apply(enterprise: Enterprise) -> EnterpriseChange:
        before = _role_of(enterprise, member_id)
        updated = rules.remove(enterprise, member_id, now=now)
        entry = event_entry(
            AuditAction.MEMBER_REMOVED, actor=_actor(actor), at=now, target=_target(member_id), before=before
        )
        return EnterpriseChange(updated, [entry])

    store.update(enterprise_id, _on_active(apply))
    log.info("member removed", extra={"enterprise_id": enterprise_id})


def _role_of(enterprise: Enterprise, member_id: str) -> str | None:
    if rules.is_invite_id(member_id):
        pending = enterprise.invites.get(rules.normalise_email(member_id))
        return pending.role.value if pending else None
    role = enterprise.role_of(member_id)
    return role.value if role else None


def _target(member_id: str) -> str:
    return rules.normalise_email(member_id) if rules.is_invite_id(member_id) else member_id
