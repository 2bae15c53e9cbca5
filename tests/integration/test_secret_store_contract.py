"""The ``SecretStore`` contract, run against the fake and against the real adapter over gRPC.

Services are unit-tested with ``FakeSecretStore``; every case here runs on both, so the fake keeps Secret
Manager's semantics as the adapter sees them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from shared.domain.connections.secret_naming import secret_id_for, secret_labels
from shared.errors import NotFound, PlatformError
from shared.ports import SecretStore, SecretVersionRef
from tests.support.fake_secret_store import FakeSecretStore
from tests.support.secret_manager import secret_manager_store

ENTERPRISE = "ent_0123456789abcdef0123"
SECRET_ID = secret_id_for(ENTERPRISE, "openai")
LABELS = secret_labels(ENTERPRISE, "openai")
KEY_1 = SecretStr("sk-admin-CONTRACT-first-0000000000")
KEY_2 = SecretStr("sk-admin-CONTRACT-second-111111111")


@pytest.fixture(params=["fake", "secret_manager"])
def store(request: pytest.FixtureRequest) -> Iterator[SecretStore]:
    if request.param == "fake":
        yield FakeSecretStore(project_id="demo-test")
    else:
        with secret_manager_store() as (real, _server):
            yield real


def test_a_first_key_becomes_version_1_and_reads_back(store: SecretStore) -> None:
    ref = store.add_version(SECRET_ID, KEY_1, LABELS)

    assert ref.name == f"projects/demo-test/secrets/{SECRET_ID}/versions/1"
    assert (ref.secret_id, ref.version) == (SECRET_ID, "1")
    assert store.access(ref).get_secret_value() == KEY_1.get_secret_value()


def test_a_rotated_key_is_version_2_and_both_stay_readable_until_disabled(store: SecretStore) -> None:
    first = store.add_version(SECRET_ID, KEY_1, LABELS)
    second = store.add_version(SECRET_ID, KEY_2, LABELS)

    assert second.version == "2"
    assert store.access(first).get_secret_value() == KEY_1.get_secret_value()
    assert store.access(second).get_secret_value() == KEY_2.get_secret_value()

    store.disable_version(first)
    with pytest.raises(NotFound) as raised:
        store.access(first)
    assert raised.value.code == "secret_version_unavailable"
    assert store.access(second).get_secret_value() == KEY_2.get_secret_value()


def test_disabling_is_idempotent_even_for_destroyed_or_unknown_versions(store: SecretStore) -> None:
    ref = store.add_version(SECRET_ID, KEY_1, LABELS)
    store.disable_version(ref)
    store.disable_version(ref)
    store.destroy_all_versions(SECRET_ID)
    store.disable_version(ref)
    store.disable_version(SecretVersionRef(f"projects/demo-test/secrets/{SECRET_ID}/versions/9"))
    store.disable_version(SecretVersionRef("projects/demo-test/secrets/never-created/versions/1"))

    with pytest.raises(NotFound):
        store.access(ref)


def test_latest_is_the_newest_version_whatever_its_state(store: SecretStore) -> None:
    store.add_version(SECRET_ID, KEY_1, LABELS)
    second = store.add_version(SECRET_ID, KEY_2, LABELS)
    latest = SecretVersionRef(f"projects/demo-test/secrets/{SECRET_ID}/versions/latest")

    assert store.access(latest).get_secret_value() == KEY_2.get_secret_value()
    store.disable_version(second)
    with pytest.raises(NotFound):
        store.access(latest)  # Secret Manager does not fall back to an older enabled version


def test_missing_secrets_and_versions_are_not_found(store: SecretStore) -> None:
    with pytest.raises(NotFound) as raised:
        store.access(SecretVersionRef("projects/demo-test/secrets/never-created/versions/1"))
    assert raised.value.code == "secret_not_found"

    ref = store.add_version(SECRET_ID, KEY_1, LABELS)
    with pytest.raises(NotFound):
        store.access(SecretVersionRef(ref.name.replace("/versions/1", "/versions/2")))


def test_destroy_all_versions_counts_what_it_destroyed_and_is_idempotent(store: SecretStore) -> None:
    first = store.add_version(SECRET_ID, KEY_1, LABELS)
    second = store.add_version(SECRET_ID, KEY_2, LABELS)
    third = store.add_version(SECRET_ID, KEY_2, LABELS)
    store.disable_version(second)

    assert store.destroy_all_versions(SECRET_ID) == 3  # a disabled version still holds its payload
    for ref in (first, second, third):
        with pytest.raises(NotFound):
            store.access(ref)
    assert store.destroy_all_versions(SECRET_ID) == 0
    assert store.destroy_all_versions("never-created") == 0


def test_destroying_one_version_leaves_the_others_and_is_idempotent(store: SecretStore) -> None:
    first = store.add_version(SECRET_ID, KEY_1, LABELS)
    second = store.add_version(SECRET_ID, KEY_2, LABELS)

    store.destroy_version(second)
    store.destroy_version(second)
    store.destroy_version(SecretVersionRef(f"projects/demo-test/secrets/{SECRET_ID}/versions/9"))
    store.destroy_version(SecretVersionRef("projects/demo-test/secrets/never-created/versions/1"))

    with pytest.raises(NotFound):
        store.access(second)
    assert store.access(first).get_secret_value() == KEY_1.get_secret_value()
    assert store.destroy_all_versions(SECRET_ID) == 1  # only the first still held a payload


def test_numbering_continues_after_versions_are_destroyed(store: SecretStore) -> None:
    store.add_version(SECRET_ID, KEY_1, LABELS)
    store.destroy_all_versions(SECRET_ID)

    ref = store.add_version(SECRET_ID, KEY_2, LABELS)

    assert ref.version == "2"
    assert store.access(ref).get_secret_value() == KEY_2.get_secret_value()


def test_deleting_a_secret_is_idempotent_and_a_new_key_starts_over(store: SecretStore) -> None:
    old = store.add_version(SECRET_ID, KEY_1, LABELS)

    store.delete_secret(SECRET_ID)
    store.delete_secret(SECRET_ID)
    store.delete_secret("never-created")

    with pytest.raises(NotFound):
        store.access(old)
    assert store.destroy_all_versions(SECRET_ID) == 0
    fresh = store.add_version(SECRET_ID, KEY_2, LABELS)
    assert fresh.version == "1"
    assert store.access(fresh).get_secret_value() == KEY_2.get_secret_value()


def test_secrets_are_independent(store: SecretStore) -> None:
    openai = store.add_version(secret_id_for(ENTERPRISE, "openai"), KEY_1, secret_labels(ENTERPRISE, "openai"))
    anthropic = store.add_version(secret_id_for(ENTERPRISE, "anthropic"), KEY_2, secret_labels(ENTERPRISE, "anthropic"))

    store.delete_secret(openai.secret_id)

    assert anthropic.version == "1"
    assert store.access(anthropic).get_secret_value() == KEY_2.get_secret_value()


def test_non_ascii_values_round_trip(store: SecretStore) -> None:
    value = SecretStr("clé-ünïcødé-🔑")
    ref = store.add_version(SECRET_ID, value, LABELS)
    assert store.access(ref).get_secret_value() == value.get_secret_value()


@pytest.mark.parametrize(
    ("secret_id", "value", "labels"),
    [
        ("has/slash", KEY_1, LABELS),
        ("x" * 256, KEY_1, LABELS),
        (SECRET_ID, KEY_1, {"Upper": "x"}),
        (SECRET_ID, SecretStr("k" * (64 * 1024 + 1)), LABELS),
    ],
    ids=["invalid-id", "id-too-long", "invalid-label", "payload-over-64KiB"],
)
def test_invalid_requests_are_rejected_not_reported_missing(
    store: SecretStore, secret_id: str, value: SecretStr, labels: dict[str, str]
) -> None:
    with pytest.raises(PlatformError) as raised:
        store.add_version(secret_id, value, labels)

    assert not isinstance(raised.value, NotFound)
    assert raised.value.code == "secret_store_rejected"
    assert not raised.value.transient


def test_values_never_show_in_reprs_or_errors(store: SecretStore) -> None:
    secret = KEY_1.get_secret_value()
    ref = store.add_version(SECRET_ID, KEY_1, LABELS)
    value = store.access(ref)
    store.disable_version(ref)
    with pytest.raises(NotFound) as raised:
        store.access(ref)

    shown = [repr(ref), str(ref), repr(value), str(value), str(raised.value), repr(raised.value)]
    assert all(secret not in text for text in shown)


def test_only_a_disabled_version_is_destroyed_when_its_grace_period_ends(store: SecretStore) -> None:
    replaced = store.add_version(SECRET_ID, KEY_1, LABELS)
    current = store.add_version(SECRET_ID, KEY_2, LABELS)
    store.disable_version(replaced)

    assert store.destroy_if_disabled(current) is False  # enabled: the key in use is never destroyed
    assert store.destroy_if_disabled(replaced) is True
    assert store.destroy_if_disabled(replaced) is False  # a duplicate delivery: already destroyed
    assert store.destroy_if_disabled(SecretVersionRef(f"projects/demo-test/secrets/{SECRET_ID}/versions/9")) is False
    with pytest.raises(NotFound):
        store.access(replaced)
    assert store.access(current).get_secret_value() == KEY_2.get_secret_value()
    assert store.destroy_all_versions(SECRET_ID) == 1  # only the current one still held a payload
