"""The ``ProviderConnectionStore`` and ``AuditLog`` contracts, on the fakes and on the Firestore emulator.

Services are unit-tested with the fakes; every case here runs on both, so the fakes keep the adapters' semantics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.firestore_audit import FirestoreAuditLog
from shared.adapters.firestore_connections import FirestoreProviderConnections
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.domain.connections.provider_keys import ProviderKeyRecord
from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry
from shared.domain.enterprise.model import ProviderName, ProviderState, ProviderStatus
from shared.errors import Conflict, NotFound
from shared.ports import AuditLog, EnterpriseStore, ProviderConnectionStore
from tests.support.connect_world import ENTERPRISE_ID, make_enterprise
from tests.support.fake_connections import FakeAuditLog, FakeProviderConnections
from tests.support.fakes import FakeEnterpriseStore

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OPENAI, ANTHROPIC = ProviderName.OPENAI, ProviderName.ANTHROPIC
V1 = "projects/demo-test/secrets/provider-key-openai_ent_x/versions/1"
V2 = "projects/demo-test/secrets/provider-key-openai_ent_x/versions/2"


@dataclass
class Stores:
    enterprises: EnterpriseStore
    connections: ProviderConnectionStore
    audit: AuditLog


@pytest.fixture(params=["fake", "firestore"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "fake":
        enterprises, audit = FakeEnterpriseStore(), FakeAuditLog()
        found = Stores(enterprises, FakeProviderConnections(enterprises, audit), audit)
    else:
        db = request.getfixturevalue("firestore_db")
        found = Stores(FirestoreEnterprises(db), FirestoreProviderConnections(db), FirestoreAuditLog(db))
    found.enterprises.create(make_enterprise(NOW))
    return found


def _state(status: ProviderStatus = ProviderStatus.CONNECTED, key_id: str | None = "key_1") -> ProviderState:
    return ProviderState(
        connected=status is not ProviderStatus.DISCONNECTED,
        status=status,
        org_id="org-acme",
        key_id=key_id,
        permissions=["usage.read"],
        connected_at=NOW,
    )


def _record(version: str = V1) -> ProviderKeyRecord:
    return ProviderKeyRecord(
        secret_version=version,
        key_id="key_1",
        stored_at=NOW,
        backfill_start=date(2026, 8, 26),
        backfill_end=date(2026, 11, 24),
        backfill_pending=True,
    )


def _entry(entry_id: str, at: datetime = NOW, action: AuditAction = AuditAction.CONNECT) -> AuditEntry:
    return AuditEntry(id=entry_id, at=at, action=action, provider=OPENAI, actor=Actor.user("u1", "a@example.com"))


def _connect(
    stores: Stores, version: str = V1, expected: str | None = None, entry_id: str = "connect-openai-v1"
) -> None:
    stores.connections.save_connection(
        ENTERPRISE_ID,
        OPENAI,
        state=_state(),
        record=_record(version),
        audit=_entry(entry_id),
        expected_version=expected,
    )


def _provider_state(stores: Stores, provider: ProviderName = OPENAI) -> ProviderState | None:
    enterprise = stores.enterprises.get(ENTERPRISE_ID)
    assert enterprise is not None
    return enterprise.providers.get(provider)


def test_a_connection_writes_state_record_and_audit_entry_together(stores: Stores) -> None:
    _connect(stores)

    assert _provider_state(stores) == _state()
    assert stores.connections.key_record(ENTERPRISE_ID, OPENAI) == _record()
    assert stores.connections.key_record(ENTERPRISE_ID, ANTHROPIC) is None
    assert [e.id for e in stores.audit.page(ENTERPRISE_ID, limit=10, after=None).entries] == ["connect-openai-v1"]


def test_a_connection_whose_expected_version_is_stale_writes_nothing(stores: Stores) -> None:
    _connect(stores)

    with pytest.raises(Conflict) as raised:
        _connect(stores, V2, expected=None, entry_id="connect-openai-v2")

    assert raised.value.code == "concurrent_connect"
    assert stores.connections.key_record(ENTERPRISE_ID, OPENAI) == _record()
    assert len(stores.audit.page(ENTERPRISE_ID, limit=10, after=None).entries) == 1
    _connect(stores, V2, expected=V1, entry_id="rotate-openai-v2")
    record = stores.connections.key_record(ENTERPRISE_ID, OPENAI)
    assert record is not None
    assert record.secret_version == V2


def test_connecting_a_missing_enterprise_is_not_found(stores: Stores) -> None:
    with pytest.raises(NotFound):
        stores.connections.save_connection(
            "ent_missing", OPENAI, state=_state(), record=_record(), audit=_entry("x"), expected_version=None
        )


def test_a_disconnection_drops_the_record_and_keeps_the_other_provider(stores: Stores) -> None:
    _connect(stores)
    stores.connections.save_connection(
        ENTERPRISE_ID, ANTHROPIC, state=_state(), record=_record(), audit=_entry("c-a"), expected_version=None
    )

    stores.connections.save_disconnection(
        ENTERPRISE_ID,
        OPENAI,
        state=_state(ProviderStatus.DISCONNECTED, None),
        audit=_entry("disconnect-openai-v1"),
        expected_version=V1,
    )

    assert stores.connections.key_record(ENTERPRISE_ID, OPENAI) is None
    assert stores.connections.key_record(ENTERPRISE_ID, ANTHROPIC) == _record()
    state = _provider_state(stores)
    assert state is not None
    assert (state.status, state.key_id) == (ProviderStatus.DISCONNECTED, None)


def test_a_key_record_update_loses_to_a_rotation(stores: Stores) -> None:
    _connect(stores)
    done = _record().model_copy(update={"backfill_pending": False})

    assert stores.connections.save_key_record(ENTERPRISE_ID, OPENAI, done)
    _connect(stores, V2, expected=V1, entry_id="rotate-openai-v2")
    assert not stores.connections.save_key_record(ENTERPRISE_ID, OPENAI, done)

    record = stores.connections.key_record(ENTERPRISE_ID, OPENAI)
    assert record is not None
    assert (record.secret_version, record.backfill_pending) == (V2, True)


def test_a_key_failure_episode_starts_once_and_only_for_the_current_key(stores: Stores) -> None:
    _connect(stores)
    later = NOW + timedelta(hours=1)

    def fail(version: str | None, entry_id: str) -> bool:
        return stores.connections.mark_key_failed(
            ENTERPRISE_ID,
            OPENAI,
            secret_version=version,
            error_code="provider_key_invalid",
            audit=_entry(entry_id, later, AuditAction.KEY_FAILED),
            now=later,
        )

    assert not fail(V2, "stale")
    assert fail(V1, "key_failed-1")
    assert not fail(None, "key_failed-2")
    state = _provider_state(stores)
    assert state is not None
    assert (state.status, state.last_error) == (ProviderStatus.KEY_FAILED, "provider_key_invalid")
    record = stores.connections.key_record(ENTERPRISE_ID, OPENAI)
    assert record is not None
    assert (record.key_failed_at, record.alert_sent_at) == (later, None)
    ids = [e.id for e in stores.audit.page(ENTERPRISE_ID, limit=10, after=None).entries]
    assert ids == ["key_failed-1", "connect-openai-v1"]
    assert not stores.connections.mark_key_failed(
        ENTERPRISE_ID, ANTHROPIC, secret_version=None, error_code="x", audit=_entry("a"), now=later
    )


def test_audit_pages_are_newest_first_and_a_rewrite_does_not_duplicate(stores: Stores) -> None:
    times = [NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)]
    for i, at in enumerate(times):
        stores.audit.record(ENTERPRISE_ID, _entry(f"e{i}", at))
    stores.audit.record(ENTERPRISE_ID, _entry("e3", times[3]))  # a retried write

    first = stores.audit.page(ENTERPRISE_ID, limit=2, after=None)
    second = stores.audit.page(ENTERPRISE_ID, limit=2, after=first.next)

    assert [e.id for e in first.entries] == ["e3", "e2"]
    assert [e.id for e in second.entries] == ["e1", "e0"]
    assert second.next is None or stores.audit.page(ENTERPRISE_ID, limit=2, after=second.next).entries == []
    assert stores.audit.page("ent_other", limit=5, after=None).entries == []


def test_the_enterprise_document_never_holds_the_secret_version(firestore_db: Any) -> None:
    FirestoreEnterprises(firestore_db).create(make_enterprise(NOW))
    _connect(
        Stores(
            FirestoreEnterprises(firestore_db),
            FirestoreProviderConnections(firestore_db),
            FirestoreAuditLog(firestore_db),
        )
    )

    enterprise = firestore_db.collection("enterprises").document(ENTERPRISE_ID)

    assert "projects/" not in repr(enterprise.get().to_dict())
    assert enterprise.collection("private").document("providers").get().to_dict()["openai"]["secret_version"] == V1


def test_a_disconnection_loses_to_a_rotation_recorded_since_it_read_the_key(stores: Stores) -> None:
    """ADR 0016: a disconnect must not forget a version a concurrent rotation stored after it destroyed the old."""
    _connect(stores)
    stores.connections.save_connection(
        ENTERPRISE_ID, OPENAI, state=_state(), record=_record(V2), audit=_entry("rotate-v2"), expected_version=V1
    )
    with pytest.raises(Conflict):
        stores.connections.save_disconnection(
            ENTERPRISE_ID,
            OPENAI,
            state=_state(ProviderStatus.DISCONNECTED, None),
            audit=_entry("disconnect-openai-v1"),
            expected_version=V1,
        )
    record = stores.connections.key_record(ENTERPRISE_ID, OPENAI)
    assert record is not None
    assert record.secret_version == V2
    state = _provider_state(stores)
    assert state is not None
    assert state.status is ProviderStatus.CONNECTED
