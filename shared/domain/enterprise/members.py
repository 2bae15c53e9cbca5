"""Members and pending invites of an enterprise: pure rules, applied inside the store's transaction.

An admin adds people by email. The ``api`` identity cannot look accounts up in Firebase Auth (it holds no credential
for it), so every addition is a pending invite keyed by the lower-cased email. Nothing changes membership implicitly:
the invitee lists the invites sent to their verified email and accepts or declines each one
(``shared.services.enterprise.invitations``). A decline is recorded on the invitee's side, never here: members can read
this document, and an invite must look the same to them whether or not the address has an account.

Invariants every function here keeps:

* an enterprise always has an admin: the last one can be neither removed nor demoted (409 ``last_admin``);
* ``member_uids`` lists exactly the keys of ``members``, and ``invited_emails`` exactly the keys of ``invites``;
* members and invites together number at most ``MAX_SEATS`` (a Firestore document is limited to 1 MiB).

A member is addressed by uid, a pending invite by its email: uids never contain ``@``, so one path parameter
(``/members/{uid}``) addresses both without ambiguity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from shared.domain.enterprise.model import Enterprise, Invite, Member, Role
from shared.errors import Conflict, NotFound

MAX_SEATS = 500


def normalise_email(email: str) -> str:
    """The key of an invite: what Firebase Auth treats as the same address."""
    return email.strip().lower()


def is_invite_id(member_id: str) -> bool:
    return "@" in member_id


def invite(enterprise: Enterprise, *, email: str, role: Role, by: str, now: datetime) -> Enterprise | None:
    """Invite ``email`` with ``role``; ``None`` if exactly that invite is already pending.

    Raises:
        Conflict: ``already_member`` if a member has that email; ``seat_limit`` if the enterprise is full.
    """
    key = normalise_email(email)
    if any(m.email and normalise_email(m.email) == key for m in enterprise.members.values()):
        raise Conflict("this person is already a member", code="already_member")
    existing = enterprise.invites.get(key)
    if existing is not None and existing.role is role:
        return None
    if existing is None and len(enterprise.members) + len(enterprise.invites) >= MAX_SEATS:
        raise Conflict(f"an enterprise has at most {MAX_SEATS} members and invites", code="seat_limit")
    invites = {**enterprise.invites, key: Invite(role=role, invited_at=now, invited_by=by)}
    return _with(enterprise, now, invites=invites)


def accept_invite(enterprise: Enterprise, *, uid: str, email: str, now: datetime) -> Enterprise | None:
    """Turn the pending invite of ``email`` into membership of ``uid``; ``None`` if there is no such invite.

    A user who is already a member keeps their role; the invite is consumed either way.
    """
    key = normalise_email(email)
    pending = enterprise.invites.get(key)
    if pending is None:
        return None
    invites = {k: v for k, v in enterprise.invites.items() if k != key}
    members = dict(enterprise.members)
    members.setdefault(uid, Member(email=email, role=pending.role, added_at=now, email_verified=True))
    return _with(enterprise, now, members=members, invites=invites)


def is_open_invite(enterprise: Enterprise, email: str) -> bool:
    """Whether ``email`` has a pending invite to ``enterprise`` (an active one)."""
    return enterprise.status == "active" and normalise_email(email) in enterprise.invites


def member_emails(enterprise: Enterprise) -> set[str]:
    return {normalise_email(m.email) for m in enterprise.members.values() if m.email}


def non_member_addresses(enterprise: Enterprise, addresses: Iterable[str]) -> list[str]:
    """The ``addresses`` that are not a member's email: report recipients must be members, or the monthly email
    (and every alert) would be a relay to any address an admin types."""
    members = member_emails(enterprise)
    return sorted({normalise_email(a) for a in addresses} - members)


def report_recipients(enterprise: Enterprise) -> list[str]:
    """Who gets the monthly report and alerts: the configured recipients that are (still) members, or the admins'
    addresses when none are; lower-cased, unique. A recipient removed as a member stops receiving at once."""
    members = member_emails(enterprise)
    chosen = {normalise_email(str(r)) for r in enterprise.settings.report_recipients} & members
    if not chosen:
        chosen = {normalise_email(m.email) for m in enterprise.members.values() if m.role is Role.ADMIN and m.email}
    return sorted(chosen)


def change_role(enterprise: Enterprise, member_id: str, role: Role, *, now: datetime) -> Enterprise | None:
    """Give a member (uid) or a pending invite (email) ``role``; ``None`` if it already has it.

    Raises:
        NotFound: ``member_not_found``.
        Conflict: ``last_admin`` when demoting the only admin.
    """
    if is_invite_id(member_id):
        key = normalise_email(member_id)
        pending = _invite(enterprise, key)
        if pending.role is role:
            return None
        return _with(enterprise, now, invites={**enterprise.invites, key: pending.model_copy(update={"role": role})})
    member = _member(enterprise, member_id)
    if member.role is role:
        return None
    if member.role is Role.ADMIN:
        _keep_an_admin(enterprise, member_id)
    return _with(enterprise, now, members={**enterprise.members, member_id: member.model_copy(update={"role": role})})


def remove(enterprise: Enterprise, member_id: str, *, now: datetime) -> Enterprise:
    """Remove a member (uid) or withdraw a pending invite (email).

    Raises:
        NotFound: ``member_not_found``.
        Conflict: ``last_admin`` when removing the only admin.
    """
    if is_invite_id(member_id):
        key = normalise_email(member_id)
        _invite(enterprise, key)
        return _with(enterprise, now, invites={k: v for k, v in enterprise.invites.items() if k != key})
    if _member(enterprise, member_id).role is Role.ADMIN:
        _keep_an_admin(enterprise, member_id)
    return _with(enterprise, now, members={k: v for k, v in enterprise.members.items() if k != member_id})


def _member(enterprise: Enterprise, uid: str) -> Member:
    member = enterprise.members.get(uid)
    if member is None:
        raise NotFound("no such member in this enterprise", code="member_not_found")
    return member


def _invite(enterprise: Enterprise, key: str) -> Invite:
    pending = enterprise.invites.get(key)
    if pending is None:
        raise NotFound("no such member in this enterprise", code="member_not_found")
    return pending


def _keep_an_admin(enterprise: Enterprise, leaving_admin: str) -> None:
    if enterprise.admin_uids == [leaving_admin]:
        raise Conflict("an enterprise needs at least one admin: make someone else admin first", code="last_admin")


def _with(
    enterprise: Enterprise,
    now: datetime,
    *,
    members: Mapping[str, Member] | None = None,
    invites: Mapping[str, Invite] | None = None,
) -> Enterprise:
    """A copy with new members and/or invites, their denormalised key lists kept in step."""
    members = dict(enterprise.members if members is None else members)
    invites = dict(enterprise.invites if invites is None else invites)
    return enterprise.model_copy(
        update={
            "members": members,
            "member_uids": sorted(members),
            "invites": invites,
            "invited_emails": sorted(invites),
            "updated_at": now,
        }
    )
