"""Transactional enterprise updates and invite lookups of the Firestore enterprise store, on the emulator."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.adapters.firestore_audit import FirestoreAuditLog
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_invite_declines import FirestoreInviteDeclines
from shared.domain.enterprise.audit import Actor, AuditAction
from shared.domain.enterprise.callers import User
from shared.domain.enterprise.events import event_entry
from shared.domain.enterprise.model import Enterprise, Member, Membership, Role
from shared.errors import Conflict, DependencyUnavailable, NotFound
from shared.ports import EnterpriseChange
from shared.services.enterprise import invitations, members
from tests.support.fake_invites import FakeInviteDeclines
from tests.support.fakes import FixedClock

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ALICE = User(uid="alice", email="alice@example.com", email_verified=True)


def _enterprise(eid: str = "ent_a", status: str = "active") -> Enterprise:
    return Enterprise.model_validate(
        {
            "id": eid,
            "name": "Acme",
            "created_at": T0,
            "updated_at": T0,
            "created_by": "alice",
            "members": {"alice": Member(email=ALICE.email, role=Role.ADMIN, added_at=T0)},
            "member_uids": ["alice"],
            "status": status,
        }
    )


@pytest.fixture
def store(firestore_db: Any) -> FirestoreEnterprises:
    store = FirestoreEnterprises(firestore_db)
    store.create(_enterprise())
    return store


def test_an_update_writes_the_change_and_its_audit_entry_together(
    store: FirestoreEnterprises, firestore_db: Any
) -> None:
    entry = event_entry(
        AuditAction.SETTING_CHANGED,
        actor=Actor.user("alice", ALICE.email),
        at=T0,
        target="share_anonymous_benchmarks",
        before=False,
        after=True,
    )

    def opt_in(e: Enterprise) -> EnterpriseChange:
        settings = e.settings.model_copy(update={"share_anonymous_benchmarks": True})
        return EnterpriseChange(e.model_copy(update={"settings": settings}), [entry])

    updated = store.update("ent_a", opt_in)
    assert updated.settings.share_anonymous_benchmarks is True
    assert store.get("ent_a") == updated
    page = FirestoreAuditLog(firestore_db).page("ent_a", limit=10, after=None)
    assert [(e.id, e.action, e.provider, e.after) for e in page.entries] == [
        (entry.id, AuditAction.SETTING_CHANGED, None, True)
    ]


def test_a_refused_change_writes_nothing(store: FirestoreEnterprises, firestore_db: Any) -> None:
    before = store.get("ent_a")
    with pytest.raises(Conflict):
        members.remove_member(store, FixedClock(), ALICE, "ent_a", "alice")
    assert store.get("ent_a") == before
    assert list(firestore_db.collection("enterprises").document("ent_a").collection("audit_log").stream()) == []


def test_fields_the_model_does_not_know_survive_an_update(store: FirestoreEnterprises, firestore_db: Any) -> None:
    ref = firestore_db.collection("enterprises").document("ent_a")
    ref.update({"written_by_another_unit": {"kept": True}})
    members.invite_member(store, FixedClock(), ALICE, "ent_a", email="bob@example.com", role=Role.VIEWER)
    assert ref.get().to_dict()["written_by_another_unit"] == {"kept": True}


def test_concurrent_invites_are_all_kept(store: FirestoreEnterprises) -> None:
    """Each caller retries on 503 (transaction contention), as a client does; no invite is lost either way."""
    emails = [f"person{i}@example.com" for i in range(2)]

    def invite(email: str) -> None:
        for _ in range(5):
            try:
                members.invite_member(store, FixedClock(), ALICE, "ent_a", email=email, role=Role.VIEWER)
                return
            except DependencyUnavailable:
                continue
        raise AssertionError(f"{email} was never invited")

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(invite, emails))
    stored = store.get("ent_a")
    assert stored is not None
    assert sorted(stored.invites) == stored.invited_emails == sorted(emails)


def test_an_accepted_invite_updates_members_and_member_uids_so_the_membership_resolves(
    store: FirestoreEnterprises,
) -> None:
    clock = FixedClock()
    store.create(_enterprise("ent_closing", status="closing"))
    members.invite_member(store, clock, ALICE, "ent_a", email="Bob@Example.com", role=Role.ADMIN)
    assert store.invited_to("bob@example.com") == ["ent_a"]

    bob = User(uid="bob", email="bob@example.com", email_verified=True)
    invitations.accept_invite(store, FakeInviteDeclines(), clock, bob, "ent_a")
    assert store.memberships_for("bob") == [Membership(enterprise_id="ent_a", role=Role.ADMIN)]
    stored = store.get("ent_a")
    assert stored is not None
    assert (stored.member_uids, stored.invites, stored.invited_emails) == (["alice", "bob"], {}, [])
    assert store.invited_to("bob@example.com") == []


def test_invites_of_closing_enterprises_are_not_listed(store: FirestoreEnterprises, firestore_db: Any) -> None:
    members.invite_member(store, FixedClock(), ALICE, "ent_a", email="bob@example.com", role=Role.VIEWER)
    firestore_db.collection("enterprises").document("ent_a").update({"status": "closing"})
    assert store.invited_to("bob@example.com") == []


def test_updating_a_missing_enterprise_is_not_found(store: FirestoreEnterprises) -> None:
    with pytest.raises(NotFound) as missing:
        store.update("ent_missing", lambda e: EnterpriseChange(e))
    assert missing.value.code == "enterprise_not_found"


def test_a_decline_is_kept_apart_from_the_enterprise_and_two_at_once_both_hold(
    store: FirestoreEnterprises, firestore_db: Any
) -> None:
    """Members read the enterprise document: a decline written there would tell the inviter the address is real."""
    clock = FixedClock()
    store.create(_enterprise("ent_b"))
    for eid in ("ent_a", "ent_b"):
        members.invite_member(store, clock, ALICE, eid, email="bob@example.com", role=Role.VIEWER)
    before = firestore_db.collection("enterprises").document("ent_a").get().to_dict()
    declines = FirestoreInviteDeclines(firestore_db)
    bob = User(uid="bob", email="bob@example.com", email_verified=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda eid: invitations.decline_invite(store, declines, clock, bob, eid), ["ent_a", "ent_b"]))

    assert declines.declined("bob@example.com") == {"ent_a", "ent_b"}
    assert firestore_db.collection("enterprises").document("ent_a").get().to_dict() == before
    assert invitations.pending_invites(store, declines, bob) == []
    with pytest.raises(NotFound):
        invitations.accept_invite(store, declines, clock, bob, "ent_a")
