"""Use cases of the invitee: list the invites sent to their verified email, accept one, decline one.

Membership changes only here, and only by the invitee's explicit request: an invite that joined on the invitee's next
call let anyone enrol any address into look-alike enterprises, learn when it was active, and break its default
enterprise selection. Each change is one ``EnterpriseStore.update`` (a Firestore transaction).

Only a verified email counts: otherwise anyone could sign up with an invitee's address and take their seat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from shared.domain.enterprise import members as rules
from shared.domain.enterprise.audit import Actor, AuditAction
from shared.domain.enterprise.callers import User
from shared.domain.enterprise.events import event_entry
from shared.domain.enterprise.model import Enterprise, Role
from shared.errors import Forbidden, NotFound
from shared.ports import Clock, EnterpriseChange, EnterpriseStore, InviteDeclines

log = logging.getLogger(__name__)

MAX_LISTED = 100
"""Invites listed at once, newest first: each is one document read."""


@dataclass(frozen=True)
class PendingInvite:
    enterprise_id: str
    enterprise_name: str
    role: Role
    invited_at: datetime


def _verified_email(user: User) -> str:
    if not user.email or not user.email_verified:
        raise Forbidden("invites are for a verified email address", code="email_not_verified")
    return rules.normalise_email(user.email)


def _not_found() -> NotFound:
    # The same answer for "no such enterprise", "not invited" and "declined": nothing to learn by probing ids.
    return NotFound("no pending invite to this enterprise", code="invite_not_found")


def pending_invites(store: EnterpriseStore, declines: InviteDeclines, user: User) -> list[PendingInvite]:
    """The invites ``user`` can accept (not declined), newest first."""
    email = _verified_email(user)
    declined = declines.declined(email)
    found: list[PendingInvite] = []
    for enterprise_id in store.invited_to(email):
        if enterprise_id in declined:
            continue
        enterprise = store.get(enterprise_id)
        if enterprise is None or not rules.is_open_invite(enterprise, email):
            continue
        invite = enterprise.invites[email]
        found.append(PendingInvite(enterprise.id, enterprise.name, invite.role, invite.invited_at))
    found.sort(key=lambda p: (p.invited_at, p.enterprise_id), reverse=True)
    return found[:MAX_LISTED]


def accept_invite(
    store: EnterpriseStore, declines: InviteDeclines, clock: Clock, user: User, enterprise_id: str
) -> Enterprise:
    """Make ``user`` a member of ``enterprise_id`` with the invited role (audited as ``member_joined``).

    Raises:
        Forbidden: ``email_not_verified``.
        NotFound: ``invite_not_found`` (also for an invite the user declined).
    """
    email = _verified_email(user)
    if enterprise_id in declines.declined(email):
        raise _not_found()
    now = clock.now()

    def apply(enterprise: Enterprise) -> EnterpriseChange:
        if not rules.is_open_invite(enterprise, email):
            raise _not_found()
        updated = rules.accept_invite(enterprise, uid=user.uid, email=user.email or email, now=now)
        if updated is None:
            raise _not_found()
        role = updated.members[user.uid].role
        actor = Actor.user(user.uid, user.email)
        entry = event_entry(AuditAction.MEMBER_JOINED, actor=actor, at=now, target=user.uid, after=role.value)
        return EnterpriseChange(updated, [entry])

    try:
        enterprise = store.update(enterprise_id, apply)
    except NotFound as e:
        raise _not_found() from e
    log.info("invite accepted", extra={"enterprise_id": enterprise_id})
    return enterprise


def decline_invite(
    store: EnterpriseStore, declines: InviteDeclines, clock: Clock, user: User, enterprise_id: str
) -> None:
    """Decline ``user``'s invite to ``enterprise_id``: it is no longer offered to them and cannot be accepted.

    Recorded on the invitee's side only, not audited: the enterprise and its admins see no change at all.

    Raises:
        Forbidden: ``email_not_verified``.
        NotFound: ``invite_not_found``.
    """
    email = _verified_email(user)
    enterprise = store.get(enterprise_id)
    if enterprise is None or not rules.is_open_invite(enterprise, email):
        raise _not_found()
    declines.decline(email, enterprise_id, clock.now())
    log.info("invite declined", extra={"enterprise_id": enterprise_id})
