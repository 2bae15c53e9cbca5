"""Members and invites: the rules, and the use cases on a behaving fake store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.enterprise import members as rules
from shared.domain.enterprise.audit import AuditAction
from shared.domain.enterprise.callers import User
from shared.domain.enterprise.model import Enterprise, Member, Role
from shared.errors import Conflict, Forbidden, NotFound
from shared.services.enterprise import invitations, members
from tests.support.fake_invites import FakeInviteDeclines
from tests.support.fakes import FakeEnterpriseStore, FixedClock

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ALICE = User(uid="alice", email="alice@example.com", email_verified=True)


def _enterprise(roles: dict[str, Role], eid: str = "ent_a") -> Enterprise:
    return Enterprise(
        id=eid,
        name="Acme",
        created_at=T0,
        updated_at=T0,
        created_by=next(iter(roles)),
        members={uid: Member(email=f"{uid}@example.com", role=r, added_at=T0) for uid, r in roles.items()},
        member_uids=sorted(roles),
    )


@pytest.fixture
def store() -> FakeEnterpriseStore:
    store = FakeEnterpriseStore()
    store.create(_enterprise({"alice": Role.ADMIN, "victor": Role.VIEWER}))
    return store


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def _consistent(enterprise: Enterprise) -> None:
    assert enterprise.member_uids == sorted(enterprise.members)
    assert enterprise.invited_emails == sorted(enterprise.invites)


# --- rules -------------------------------------------------------------------------------------------------------


def test_the_last_admin_can_be_neither_removed_nor_demoted() -> None:
    enterprise = _enterprise({"alice": Role.ADMIN, "victor": Role.VIEWER})
    with pytest.raises(Conflict) as removed:
        rules.remove(enterprise, "alice", now=T0)
    with pytest.raises(Conflict) as demoted:
        rules.change_role(enterprise, "alice", Role.VIEWER, now=T0)
    assert removed.value.code == demoted.value.code == "last_admin"


def test_an_admin_may_leave_or_step_down_once_someone_else_is_admin() -> None:
    enterprise = _enterprise({"alice": Role.ADMIN, "victor": Role.VIEWER})
    promoted = rules.change_role(enterprise, "victor", Role.ADMIN, now=T0)
    assert promoted is not None
    demoted = rules.change_role(promoted, "alice", Role.VIEWER, now=T0)
    assert demoted is not None
    assert demoted.admin_uids == ["victor"]
    left = rules.remove(promoted, "alice", now=T0)
    assert left.admin_uids == ["victor"]
    _consistent(left)


def test_a_pending_admin_invite_does_not_count_as_an_admin() -> None:
    enterprise = _enterprise({"alice": Role.ADMIN})
    invited = rules.invite(enterprise, email="bob@example.com", role=Role.ADMIN, by="alice", now=T0)
    assert invited is not None
    with pytest.raises(Conflict):
        rules.remove(invited, "alice", now=T0)


def test_invites_are_keyed_by_lower_cased_email_and_accepted_once() -> None:
    enterprise = _enterprise({"alice": Role.ADMIN})
    invited = rules.invite(enterprise, email=" Bob@Example.COM", role=Role.VIEWER, by="alice", now=T0)
    assert invited is not None
    assert list(invited.invites) == invited.invited_emails == ["bob@example.com"]
    joined = rules.accept_invite(invited, uid="bob", email="BOB@example.com", now=T0 + timedelta(days=1))
    assert joined is not None
    assert joined.role_of("bob") is Role.VIEWER
    assert joined.invites == {}
    _consistent(joined)
    assert rules.accept_invite(joined, uid="bob", email="bob@example.com", now=T0) is None


def test_inviting_a_member_is_a_conflict_and_reinviting_changes_only_the_role() -> None:
    enterprise = _enterprise({"alice": Role.ADMIN})
    with pytest.raises(Conflict) as already:
        rules.invite(enterprise, email="ALICE@example.com", role=Role.VIEWER, by="alice", now=T0)
    assert already.value.code == "already_member"
    invited = rules.invite(enterprise, email="bob@example.com", role=Role.VIEWER, by="alice", now=T0)
    assert invited is not None
    assert rules.invite(invited, email="bob@example.com", role=Role.VIEWER, by="alice", now=T0) is None
    upgraded = rules.invite(invited, email="bob@example.com", role=Role.ADMIN, by="alice", now=T0)
    assert upgraded is not None
    assert upgraded.invites["bob@example.com"].role is Role.ADMIN


def test_seats_are_limited() -> None:
    roles = {"alice": Role.ADMIN} | {f"u{i}": Role.VIEWER for i in range(rules.MAX_SEATS - 1)}
    with pytest.raises(Conflict) as full:
        rules.invite(_enterprise(roles), email="one-more@example.com", role=Role.VIEWER, by="alice", now=T0)
    assert full.value.code == "seat_limit"


@pytest.mark.parametrize("member_id", ["nobody", "nobody@example.com"])
def test_unknown_members_and_invites_are_not_found(member_id: str) -> None:
    enterprise = _enterprise({"alice": Role.ADMIN})
    with pytest.raises(NotFound) as removed:
        rules.remove(enterprise, member_id, now=T0)
    with pytest.raises(NotFound) as changed:
        rules.change_role(enterprise, member_id, Role.ADMIN, now=T0)
    assert removed.value.code == changed.value.code == "member_not_found"


# --- use cases ---------------------------------------------------------------------------------------------------


def test_an_invitee_joins_when_they_accept_and_it_is_audited(store: FakeEnterpriseStore, clock: FixedClock) -> None:
    members.invite_member(store, clock, ALICE, "ent_a", email="Bob@Example.com", role=Role.ADMIN)
    bob = User(uid="bob", email="bob@example.com", email_verified=True)
    clock.advance(timedelta(hours=1))
    [pending] = invitations.pending_invites(store, FakeInviteDeclines(), bob)
    assert (pending.enterprise_id, pending.role) == ("ent_a", Role.ADMIN)
    invitations.accept_invite(store, FakeInviteDeclines(), clock, bob, "ent_a")
    enterprise = store.docs["ent_a"]
    assert enterprise.role_of("bob") is Role.ADMIN
    assert "bob" in enterprise.member_uids
    assert enterprise.invites == {}
    actions = sorted(e.action for e in store.audit["ent_a"].values())
    assert actions == [AuditAction.MEMBER_INVITED, AuditAction.MEMBER_JOINED]
    assert invitations.pending_invites(store, FakeInviteDeclines(), bob) == []


def test_an_unverified_email_does_not_take_an_invitees_seat(store: FakeEnterpriseStore, clock: FixedClock) -> None:
    members.invite_member(store, clock, ALICE, "ent_a", email="bob@example.com", role=Role.VIEWER)
    impostor = User(uid="mallory", email="bob@example.com", email_verified=False)
    with pytest.raises(Forbidden):
        invitations.accept_invite(store, FakeInviteDeclines(), clock, impostor, "ent_a")
    assert store.docs["ent_a"].role_of("mallory") is None
    assert "bob@example.com" in store.docs["ent_a"].invites


def test_a_closing_enterprise_accepts_no_member_changes(store: FakeEnterpriseStore, clock: FixedClock) -> None:
    members.invite_member(store, clock, ALICE, "ent_a", email="bob@example.com", role=Role.VIEWER)
    store.docs["ent_a"] = store.docs["ent_a"].model_copy(update={"status": "closing"})
    with pytest.raises(NotFound):
        members.change_role(store, clock, ALICE, "ent_a", "victor", Role.ADMIN)
    bob = User(uid="bob", email="bob@example.com", email_verified=True)
    assert invitations.pending_invites(store, FakeInviteDeclines(), bob) == []
    with pytest.raises(NotFound):
        invitations.accept_invite(store, FakeInviteDeclines(), clock, bob, "ent_a")
    assert store.docs["ent_a"].role_of("victor") is Role.VIEWER


def test_a_refused_change_writes_nothing(store: FakeEnterpriseStore, clock: FixedClock) -> None:
    before = store.docs["ent_a"]
    with pytest.raises(Conflict):
        members.remove_member(store, clock, ALICE, "ent_a", "alice")
    assert store.docs["ent_a"] == before
    assert store.audit.get("ent_a", {}) == {}


def test_role_changes_and_removals_are_audited_with_before_and_after(
    store: FakeEnterpriseStore, clock: FixedClock
) -> None:
    members.change_role(store, clock, ALICE, "ent_a", "victor", Role.ADMIN)
    clock.advance(timedelta(seconds=1))
    members.remove_member(store, clock, ALICE, "ent_a", "victor")
    entries = sorted(store.audit["ent_a"].values(), key=lambda e: e.at)
    assert [(e.action, e.target, e.before, e.after) for e in entries] == [
        (AuditAction.MEMBER_ROLE_CHANGED, "victor", "viewer", "admin"),
        (AuditAction.MEMBER_REMOVED, "victor", "admin", None),
    ]
    assert all(e.provider is None and e.actor.uid == "alice" for e in entries)
