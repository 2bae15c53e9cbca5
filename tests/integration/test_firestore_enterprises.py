"""The Firestore enterprise store against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.domain.enterprise.model import Enterprise, Member, Membership, Role


def _enterprise(eid: str, members: dict[str, Role], status: str = "active") -> Enterprise:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    return Enterprise.model_validate(
        {
            "id": eid,
            "name": eid.title(),
            "created_at": now,
            "updated_at": now,
            "created_by": next(iter(members)),
            "members": {uid: Member(email=f"{uid}@x.test", role=r, added_at=now) for uid, r in members.items()},
            "member_uids": list(members),
            "status": status,
        }
    )


def test_create_is_create_if_absent_and_round_trips(firestore_db: Any) -> None:
    store = FirestoreEnterprises(firestore_db)
    first, created = store.create(_enterprise("ent_a", {"u1": Role.ADMIN}))
    assert created
    changed = _enterprise("ent_a", {"u2": Role.ADMIN})
    again, created_again = store.create(changed)
    assert not created_again
    assert again.members.keys() == {"u1"}
    assert store.get("ent_a") == first
    assert store.get("ent_missing") is None


def test_memberships_list_only_active_enterprises_the_user_belongs_to(firestore_db: Any) -> None:
    store = FirestoreEnterprises(firestore_db)
    store.create(_enterprise("ent_a", {"u1": Role.ADMIN, "u2": Role.VIEWER}))
    store.create(_enterprise("ent_b", {"u2": Role.ADMIN}))
    store.create(_enterprise("ent_c", {"u2": Role.ADMIN}, status="closing"))
    assert store.memberships_for("u2") == [
        Membership(enterprise_id="ent_a", role=Role.VIEWER),
        Membership(enterprise_id="ent_b", role=Role.ADMIN),
    ]
    assert store.memberships_for("nobody") == []
