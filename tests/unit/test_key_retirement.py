"""A rotated key's replaced version is disabled at once and destroyed after the grace period by a named task, which
destroys nothing else: not the version in use, not another key's, not one an operator re-enabled."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.model import ProviderName
from shared.errors import InvalidInput
from shared.ports import SecretVersionRef
from shared.services.connections.retire_key_version import RETIRE_FUNCTION, retire_key_version
from tests.support.connect_world import ENTERPRISE_ID, OPENAI_KEY, OPENAI_KEY_2, ConnectWorld

OPENAI = ProviderName.OPENAI
SECRET = secret_id_for(ENTERPRISE_ID, "openai")


def _version(n: int) -> SecretVersionRef:
    return SecretVersionRef(f"projects/demo-test/secrets/{SECRET}/versions/{n}")


@pytest.fixture
def world() -> ConnectWorld:
    return ConnectWorld()


def _rotate(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY, org_id="org-acme")
    world.connect(OPENAI, OPENAI_KEY_2)


def _retire(world: ConnectWorld, version: SecretVersionRef, enterprise_id: str = ENTERPRISE_ID) -> str:
    return retire_key_version(
        enterprise_id, OPENAI, version.name, secrets=world.secrets, connections=world.connections
    ).outcome


def test_a_rotation_schedules_the_replaced_versions_destruction_after_the_grace_period(world: ConnectWorld) -> None:
    _rotate(world)
    (task,) = world.tasks.tasks(world.settings.retire_queue)
    assert task.function == RETIRE_FUNCTION
    assert task.payload == {"enterprise_id": ENTERPRISE_ID, "provider": "openai", "version": _version(1).name}
    grace = timedelta(days=world.settings.superseded_version_grace_days)
    assert task.schedule_time == world.clock.now() + grace
    assert world.secrets.states_of(SECRET) == ["DISABLED", "ENABLED"]  # unreadable at once, billed until then


def test_the_task_destroys_the_replaced_version_once_and_keeps_the_current_one(world: ConnectWorld) -> None:
    _rotate(world)
    assert _retire(world, _version(1)) == "destroyed"
    assert _retire(world, _version(1)) == "kept"  # a duplicate delivery changes nothing
    assert world.secrets.states_of(SECRET) == ["DESTROYED", "ENABLED"]
    assert _retire(world, _version(2)) == "current"
    assert world.secrets.access(_version(2)).get_secret_value() == OPENAI_KEY_2


def test_the_task_refuses_a_version_of_another_key(world: ConnectWorld) -> None:
    _rotate(world)
    with pytest.raises(InvalidInput):
        _retire(world, _version(1), enterprise_id="ent_someone_else")
    assert world.secrets.states_of(SECRET) == ["DISABLED", "ENABLED"]


def test_a_rotation_whose_task_cannot_be_enqueued_still_stands(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY, org_id="org-acme")
    world.tasks.down = True  # Cloud Tasks unavailable: the old version stays disabled (unreadable), only billed
    result = world.connect(OPENAI, OPENAI_KEY_2)
    assert result.rotated
    assert world.secrets.states_of(SECRET) == ["DISABLED", "ENABLED"]
    assert world.secrets.access(_version(2)).get_secret_value() == OPENAI_KEY_2
