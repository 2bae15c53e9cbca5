"""Disconnecting a provider: the key is destroyed first, the state says so, the history stays."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import timedelta

import pytest
from pydantic import SecretStr

from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.audit import AuditAction
from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.errors import Conflict, DependencyUnavailable, NotFound
from shared.ports import SecretVersionRef
from tests.support.connect_world import ANTHROPIC_KEY, ENTERPRISE_ID, OPENAI_KEY, OPENAI_KEY_2, ConnectWorld

OPENAI = ProviderName.OPENAI
OPENAI_SECRET = secret_id_for(ENTERPRISE_ID, "openai")


@pytest.fixture
def world() -> ConnectWorld:
    return ConnectWorld()


def test_disconnecting_destroys_every_version_and_keeps_what_labels_the_history(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY, org_id="org-acme")
    world.clock.advance(timedelta(hours=1))
    world.connect(OPENAI, OPENAI_KEY_2)
    world.clock.advance(timedelta(hours=1))

    result = world.disconnect(OPENAI)

    assert (result.destroyed_versions, result.already_disconnected) == (2, False)
    assert world.secrets.states_of(OPENAI_SECRET) == ["DESTROYED", "DESTROYED"]
    state = world.enterprise().providers[OPENAI]
    assert (state.connected, state.status, state.key_id) == (False, ProviderStatus.DISCONNECTED, None)
    assert state.org_id == "org-acme"
    assert (ENTERPRISE_ID, OPENAI) not in world.connections.records
    entry = world.audit.of(ENTERPRISE_ID)[-1]
    assert (entry.action, entry.secret_version, entry.actor.email) == (AuditAction.DISCONNECT, 2, "ada@example.com")


def test_other_providers_stay_connected(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY)
    world.connect(ProviderName.ANTHROPIC, ANTHROPIC_KEY)

    world.disconnect(OPENAI)

    assert world.enterprise().providers[ProviderName.ANTHROPIC].status is ProviderStatus.CONNECTED
    assert world.secrets.states_of(secret_id_for(ENTERPRISE_ID, "anthropic")) == ["ENABLED"]


def test_disconnecting_again_changes_nothing(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY)
    world.disconnect(OPENAI)
    entries = len(world.audit.of(ENTERPRISE_ID))

    again = world.disconnect(OPENAI)

    assert (again.destroyed_versions, again.already_disconnected) == (0, True)
    assert len(world.audit.of(ENTERPRISE_ID)) == entries


def test_a_provider_never_connected_is_not_found(world: ConnectWorld) -> None:
    with pytest.raises(NotFound) as raised:
        world.disconnect(OPENAI)

    assert raised.value.code == "provider_not_connected"


def test_if_the_key_cannot_be_destroyed_the_provider_stays_connected(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY)
    world.secrets.unavailable = True

    with pytest.raises(DependencyUnavailable):
        world.disconnect(OPENAI)

    world.secrets.unavailable = False
    assert world.enterprise().providers[OPENAI].status is ProviderStatus.CONNECTED
    assert world.secrets.states_of(OPENAI_SECRET) == ["ENABLED"]


def test_a_retry_after_the_database_failed_completes_the_disconnect(
    world: ConnectWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.connect(OPENAI, OPENAI_KEY)

    def outage(*args: object, **kwargs: object) -> None:
        raise DependencyUnavailable("the database is temporarily unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(world.connections, "save_disconnection", outage)
        with pytest.raises(DependencyUnavailable):
            world.disconnect(OPENAI)
    assert world.secrets.states_of(OPENAI_SECRET) == ["DESTROYED"]  # the key went first
    world.clock.advance(timedelta(minutes=1))

    result = world.disconnect(OPENAI)

    assert (result.destroyed_versions, result.already_disconnected) == (0, False)
    assert world.enterprise().providers[OPENAI].status is ProviderStatus.DISCONNECTED
    assert world.audit.of(ENTERPRISE_ID)[-1].action is AuditAction.DISCONNECT


def _once(action: Callable[[], object]) -> Callable[[], None]:
    done: list[bool] = []

    def run() -> None:
        if not done:
            done.append(True)
            with contextlib.suppress(Conflict):  # the rotation may lose; what matters is what remains stored
                action()

    return run


@pytest.mark.parametrize(
    "moment",
    [
        "rotation_between_disconnects_destroy_and_its_write",
        "disconnect_between_rotations_new_version_and_its_write",
    ],
)
def test_after_a_disconnect_racing_a_rotation_no_enabled_key_version_remains(world: ConnectWorld, moment: str) -> None:
    """Security: the API must never say "disconnected" while Secret Manager still holds a usable key."""
    world.connect(OPENAI, OPENAI_KEY)
    secrets = world.secrets
    if moment == "rotation_between_disconnects_destroy_and_its_write":
        rotate = _once(lambda: world.connect(OPENAI, OPENAI_KEY_2))
        destroy = secrets.destroy_all_versions

        def destroy_then_rotate(secret_id: str) -> int:
            destroyed = destroy(secret_id)
            rotate()
            return destroyed

        secrets.destroy_all_versions = destroy_then_rotate  # type: ignore[method-assign]
        world.disconnect(OPENAI)
    else:
        disconnect = _once(lambda: world.disconnect(OPENAI))
        add = secrets.add_version

        def add_then_disconnect(secret_id: str, value: SecretStr, labels: Mapping[str, str]) -> SecretVersionRef:
            ref = add(secret_id, value, labels)
            disconnect()
            return ref

        secrets.add_version = add_then_disconnect  # type: ignore[method-assign]
        with pytest.raises(Conflict):
            world.connect(OPENAI, OPENAI_KEY_2)

    assert "ENABLED" not in world.secrets.states_of(OPENAI_SECRET)
    assert world.enterprise().providers[OPENAI].status is ProviderStatus.DISCONNECTED
    assert (ENTERPRISE_ID, OPENAI) not in world.connections.records
