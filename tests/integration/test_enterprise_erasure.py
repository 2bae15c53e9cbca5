"""Erasure on the Firestore emulator and the in-process Secret Manager: an enterprise with data in every collection
(and below a document that does not exist) and keys of both providers is erased entirely, its neighbour not at all;
erasing again changes nothing; an active enterprise answers 503 with nothing deleted.

The worker runs through ``build_web_app("enterprise_erase")`` with the real adapters its ``Deps`` create from the
settings, so the wiring is what deploys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from devstack.secret_manager_server import RunningSecretServer
from devstack.secret_manager_state import SecretManagerError
from devstack.tokens import mint_oidc_token
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_erasure import ERASURES, FirestoreErasures
from shared.adapters.secret_manager import SecretManagerStore
from shared.config import get_settings
from shared.domain.connections.secret_naming import secret_id_for, secret_labels
from shared.domain.enterprise.model import Enterprise, Member, ProviderName, Role
from shared.errors import NotFound
from shared.ports import SecretVersionRef
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.fakes import FixedClock
from tests.support.secret_manager import secret_manager_store

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOSING, ACTIVE = "ent_closing000000000000", "ent_active0000000000000"
PAGE_SIZE = 7
"""Small, so the erasure takes many pages."""


@dataclass
class Secrets:
    store: SecretManagerStore
    server: RunningSecretServer
    refs: dict[str, list[SecretVersionRef]]

    def exists(self, secret_id: str) -> bool:
        try:
            self.server.state.get_secret(f"projects/{TEST_PROJECT}/secrets/{secret_id}")
        except SecretManagerError:
            return False
        return True


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Secrets]:
    with secret_manager_store() as (store, server):
        monkeypatch.setenv("SECRET_MANAGER_EMULATOR_HOST", server.address)  # for the function's own store
        get_settings.cache_clear()
        yield Secrets(store, server, {})


def seed(db: Any, secrets: Secrets, eid: str, *, closing_since: datetime | None) -> None:
    admin = Member(email=f"admin@{eid}.example", role=Role.ADMIN, added_at=NOW - timedelta(days=90))
    FirestoreEnterprises(db).create(
        Enterprise(
            id=eid,
            name=f"Name of {eid}",
            created_at=NOW - timedelta(days=90),
            updated_at=closing_since or NOW - timedelta(days=2),
            created_by="u-admin",
            members={"u-admin": admin},
            member_uids=["u-admin"],
            invites={},
            status="closing" if closing_since else "active",
            closing_since=closing_since,
        )
    )
    ent = db.collection("enterprises").document(eid)
    for n in range(20):
        day = (NOW - timedelta(days=n)).date().isoformat()
        ent.collection("usage_snapshots").document(day).set({"date": day, "expire_at": NOW + timedelta(days=700)})
    for month in ("2026-09", "2026-10", "2026-11"):
        ent.collection("usage_months").document(month).set({"month": month})
    for n in range(3):
        ent.collection("raw_responses").document(f"page{n}").set({"expire_at": NOW + timedelta(days=7)})
    for n in range(4):
        ent.collection("audit_log").document(f"entry{n}").set({"action": "key_read", "actor": "u-admin"})
    ent.collection("private").document("providers").set({"openai": {"secret_version": "v1"}})
    for name in ("members", "connections", "reports", "alerts", "budgets"):
        ent.collection(name).document("doc").set({"what": name})
    ent.collection("reports").document("2026-10").collection("pages").document("1").set({"page": 1})
    # Below a document that does not exist: Firestore keeps it, and so must not the erasure.
    ent.collection("exports").document("missing").collection("parts").document("1").set({"part": 1})
    for provider in (ProviderName.OPENAI, ProviderName.ANTHROPIC):
        secret_id = secret_id_for(eid, provider.value)
        labels = secret_labels(eid, provider.value)
        secrets.refs[secret_id] = [
            secrets.store.add_version(secret_id, SecretStr(f"sk-{provider.value}-{eid}-{n}"), labels) for n in (1, 2)
        ]


def tree(db: Any, eid: str) -> dict[str, Any]:
    """The enterprise document and every document below it, by path."""
    ent = db.collection("enterprises").document(eid)
    found = {}
    snap = ent.get()
    if snap.exists:
        found[ent.path] = snap.to_dict()
    for collection in ent.collections():
        for doc in collection.recursive().stream():
            found[doc.reference.path] = doc.to_dict()
    return found


def call(eid: str, clock: FixedClock) -> ApiResponse:
    from shared.bootstrap import build_web_app

    app: WebApp = build_web_app("enterprise_erase", clock=clock)
    settings = get_settings()
    token = mint_oidc_token(settings.tasks_service_account, f"{settings.function_base_url}/enterprise_erase")
    headers = Headers({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return app.handle(ApiRequest("POST", "/", headers, body=json.dumps({"enterprise_id": eid}).encode()))


@pytest.fixture
def world(firestore_db: Any, secrets: Secrets, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("RETENTION_PAGE_SIZE", str(PAGE_SIZE))
    get_settings.cache_clear()
    seed(firestore_db, secrets, CLOSING, closing_since=NOW - timedelta(hours=1))
    seed(firestore_db, secrets, ACTIVE, closing_since=None)
    return firestore_db


def values(secrets: Secrets, eid: str) -> list[str]:
    refs = [ref for sid, refs in secrets.refs.items() if eid in sid for ref in refs]
    return [secrets.store.access(ref).get_secret_value() for ref in refs]


def test_the_erased_enterprise_leaves_nothing_and_its_neighbour_loses_nothing(world: Any, secrets: Secrets) -> None:
    neighbour, neighbour_keys = tree(world, ACTIVE), values(secrets, ACTIVE)
    documents = len(tree(world, CLOSING))
    assert documents > 5 * PAGE_SIZE

    response = call(CLOSING, FixedClock(NOW))
    assert response.status == 200, response.body
    body = json.loads(response.body)
    assert body == {
        "enterprise_id": CLOSING,
        "outcome": "erased",
        "secret_versions_destroyed": 4,
        "documents_deleted": documents,
    }

    assert tree(world, CLOSING) == {}
    assert list(world.collection("enterprises").document(CLOSING).collections()) == []
    for provider in ProviderName:
        assert not secrets.exists(secret_id_for(CLOSING, provider.value))
    for ref in (r for sid, refs in secrets.refs.items() if CLOSING in sid for r in refs):
        with pytest.raises(NotFound):
            secrets.store.access(ref)
    assert tree(world, ACTIVE) == neighbour
    assert values(secrets, ACTIVE) == neighbour_keys

    tombstone = world.collection(ERASURES).document(CLOSING).get().to_dict()
    assert tombstone == {"requested_at": NOW - timedelta(hours=1), "erased_at": NOW}, "timestamps, nothing personal"


def test_erasing_again_changes_nothing(world: Any, secrets: Secrets) -> None:
    assert call(CLOSING, FixedClock(NOW)).status == 200
    neighbour, tombstone = tree(world, ACTIVE), world.collection(ERASURES).document(CLOSING).get().to_dict()
    again = call(CLOSING, FixedClock(NOW + timedelta(minutes=3)))
    assert again.status == 200
    assert json.loads(again.body) == {
        "enterprise_id": CLOSING,
        "outcome": "already_erased",
        "secret_versions_destroyed": 0,
        "documents_deleted": 0,
    }
    assert tree(world, ACTIVE) == neighbour
    assert world.collection(ERASURES).document(CLOSING).get().to_dict() == tombstone


def test_an_active_enterprise_answers_503_and_nothing_is_deleted(world: Any, secrets: Secrets) -> None:
    before, keys = tree(world, ACTIVE), values(secrets, ACTIVE)
    response = call(ACTIVE, FixedClock(NOW))
    assert response.status == 503
    assert json.loads(response.body)["code"] == "enterprise_still_active"
    assert tree(world, ACTIVE) == before
    assert values(secrets, ACTIVE) == keys
    assert not world.collection(ERASURES).document(ACTIVE).get().exists


def test_an_erasure_interrupted_half_way_is_finished_by_the_next_delivery(world: Any, secrets: Secrets) -> None:
    store = FirestoreErasures(world)
    before = len(tree(world, CLOSING))
    # What a delivery that died after three pages left behind.
    deleted = sum(store.delete_page(CLOSING, limit=PAGE_SIZE) for _ in range(3))
    left = len(tree(world, CLOSING))
    assert 0 < deleted == before - left
    response = call(CLOSING, FixedClock(NOW))
    assert json.loads(response.body)["documents_deleted"] == left
    assert tree(world, CLOSING) == {}
