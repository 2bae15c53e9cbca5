"""Connecting and rotating provider keys, with behaving fakes: what is stored, in which order, and what never is."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, timedelta
from typing import Any

import pytest

from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.audit import AuditAction
from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.domain.usage.records import OrgIdentity, Provider
from shared.errors import (
    Conflict,
    DependencyUnavailable,
    InvalidInput,
    PlatformError,
    ProviderAuthError,
    ProviderPermissionError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from shared.ports import SecretVersionRef
from shared.web.problems import status_for
from tests.support.connect_world import (
    ANTHROPIC_KEY,
    ANTHROPIC_KEY_2,
    ENTERPRISE_ID,
    OPENAI_KEY,
    OPENAI_KEY_2,
    ConnectWorld,
)

OPENAI = ProviderName.OPENAI
ANTHROPIC = ProviderName.ANTHROPIC
OPENAI_SECRET = secret_id_for(ENTERPRISE_ID, "openai")
ANTHROPIC_SECRET = secret_id_for(ENTERPRISE_ID, "anthropic")


@pytest.fixture
def world() -> ConnectWorld:
    return ConnectWorld()


def _version(secret_id: str, n: int) -> SecretVersionRef:
    return SecretVersionRef(f"projects/demo-test/secrets/{secret_id}/versions/{n}")


def _expected_key_id(secret_id: str, n: int) -> str:
    return "key_" + hashlib.sha256(_version(secret_id, n).name.encode()).hexdigest()[:16]


def test_a_first_connection_stores_the_key_records_it_and_starts_a_90_day_backfill(world: ConnectWorld) -> None:
    result = world.connect(ANTHROPIC, ANTHROPIC_KEY)

    assert not result.rotated
    assert world.secrets.access(_version(ANTHROPIC_SECRET, 1)).get_secret_value() == ANTHROPIC_KEY
    assert world.secrets.labels_of(ANTHROPIC_SECRET)["provider"] == "anthropic"
    state = world.enterprise().providers[ANTHROPIC]
    assert (state.connected, state.status) == (True, ProviderStatus.CONNECTED)
    assert (state.org_id, state.org_name, state.permissions) == ("4f1e0c1a-org-acme", "Acme Corp", ["admin"])
    assert state.key_id == _expected_key_id(ANTHROPIC_SECRET, 1)
    assert state.connected_at == world.clock.now()
    record = world.connections.records[(ENTERPRISE_ID, ANTHROPIC)]
    assert record.secret_version == _version(ANTHROPIC_SECRET, 1).name
    [entry] = world.audit.of(ENTERPRISE_ID)
    assert (entry.action, entry.secret_version, entry.key_id, entry.actor.email) == (
        AuditAction.CONNECT,
        1,
        state.key_id,
        "ada@example.com",
    )
    # 90 days ending on 2026-11-23 start on 2026-08-26; windows of at most 31 days, oldest first.
    assert (result.sync.status, result.sync.backfill_days) == ("started", 90)
    tasks = world.tasks.tasks("usage-sync")
    assert [(t.payload["start"], t.payload["end"]) for t in tasks] == [
        ("2026-08-26", "2026-09-26"),
        ("2026-09-26", "2026-10-27"),
        ("2026-10-27", "2026-11-24"),
    ]
    assert all(t.function == "sync_worker" for t in tasks)
    assert tasks[0].payload == {
        "enterprise_id": ENTERPRISE_ID,
        "providers": ["anthropic"],
        "start": "2026-08-26",
        "end": "2026-09-26",
        "reason": "backfill",
    }
    assert not world.connections.records[(ENTERPRISE_ID, ANTHROPIC)].backfill_pending
    assert world.sources.open_count == world.sources.closed_count == 1


@pytest.mark.parametrize("days", [1, 30, 31, 32, 62, 90, 365])
def test_backfill_windows_cover_each_requested_day_exactly_once(world: ConnectWorld, days: int) -> None:
    world.settings = world.settings.model_copy(update={"backfill_days": days})

    world.connect(OPENAI, OPENAI_KEY)

    covered: list[date] = []
    for task in world.tasks.tasks("usage-sync"):
        start, end = date.fromisoformat(task.payload["start"]), date.fromisoformat(task.payload["end"])
        assert 1 <= (end - start).days <= 31
        covered += [start + timedelta(days=i) for i in range((end - start).days)]
    today = world.clock.now().date()
    assert covered == [today - timedelta(days=days - 1 - i) for i in range(days)]


def test_a_second_connect_rotates_disables_the_old_version_and_does_not_backfill_again(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY, org_id="org-acme")
    first = world.enterprise().providers[OPENAI]
    tasks_before = world.tasks.names("usage-sync")
    world.clock.advance(timedelta(days=3))

    result = world.connect(OPENAI, OPENAI_KEY_2)

    assert result.rotated
    assert world.secrets.states_of(OPENAI_SECRET) == ["DISABLED", "ENABLED"]
    assert world.secrets.access(_version(OPENAI_SECRET, 2)).get_secret_value() == OPENAI_KEY_2
    state = world.enterprise().providers[OPENAI]
    assert state.key_id == _expected_key_id(OPENAI_SECRET, 2) != first.key_id
    assert state.connected_at == first.connected_at
    assert state.org_id == "org-acme"  # declared at the first connection, kept
    assert [e.action for e in world.audit.of(ENTERPRISE_ID)] == [AuditAction.CONNECT, AuditAction.ROTATE]
    rotate = world.audit.of(ENTERPRISE_ID)[-1]
    assert (rotate.secret_version, rotate.replaced_secret_version) == (2, 1)
    assert (result.sync.status, world.tasks.names("usage-sync")) == ("not_needed", tasks_before)


def test_an_invalid_new_key_leaves_the_connected_one_working(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY)
    before = world.enterprise().providers[OPENAI]
    world.sources.refuse(OPENAI_KEY_2, ProviderAuthError("openai returned 401", provider="openai"))

    with pytest.raises(ProviderAuthError):
        world.connect(OPENAI, OPENAI_KEY_2)

    assert world.secrets.states_of(OPENAI_SECRET) == ["ENABLED"]
    assert world.secrets.access(_version(OPENAI_SECRET, 1)).get_secret_value() == OPENAI_KEY
    assert world.enterprise().providers[OPENAI] == before
    assert world.audit.of(ENTERPRISE_ID)[-1].action is AuditAction.VALIDATE_FAILED


@pytest.mark.parametrize(
    ("provider", "key", "code"),
    [
        (OPENAI, "sk-proj-abcdefghijklmnopqrstuvwxyz0123", "not_an_admin_key"),
        (OPENAI, "sk-svcacct-abcdefghijklmnopqrstuvwxyz", "not_an_admin_key"),
        (ANTHROPIC, "sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "not_an_admin_key"),
        (OPENAI, "sk-abcdefghijklmnopqrstuvwxyz0123456789", "malformed_key"),
        (OPENAI, "sk-admin-", "malformed_key"),
        (OPENAI, "sk-admin-has spaces inside it 0000", "malformed_key"),
        (OPENAI, "sk-admin-" + "a" * 600, "malformed_key"),
        (OPENAI, ANTHROPIC_KEY, "malformed_key"),
        (ANTHROPIC, OPENAI_KEY, "malformed_key"),
        (ANTHROPIC, "hello", "malformed_key"),
        (ANTHROPIC, "", "malformed_key"),
    ],
)
def test_wrongly_shaped_keys_are_refused_before_any_provider_call(
    world: ConnectWorld, provider: ProviderName, key: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        world.connect(provider, key)

    assert raised.value.code == code
    assert status_for(raised.value)[0] == 400
    assert world.sources.validations == []
    assert world.secrets.secret_ids() == []
    assert world.enterprise().providers == {}
    [entry] = world.audit.of(ENTERPRISE_ID)
    assert (entry.action, entry.code) == (AuditAction.VALIDATE_FAILED, code)


def test_surrounding_whitespace_of_a_pasted_key_is_not_stored(world: ConnectWorld) -> None:
    world.connect(OPENAI, f"  {OPENAI_KEY}\n")

    assert world.secrets.access(_version(OPENAI_SECRET, 1)).get_secret_value() == OPENAI_KEY


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (ProviderAuthError("openai returned 401: invalid_api_key", provider="openai"), "provider_key_invalid", 400),
        (
            ProviderPermissionError("openai returned 403: Missing scopes: api.usage.read", provider="openai"),
            "provider_key_missing_scopes",
            400,
        ),
        (ProviderUnavailable("openai returned 503", provider="openai"), "provider_unavailable", 503),
        (ProviderRateLimited("openai returned 429", provider="openai", retry_after_s=60), "provider_unavailable", 503),
    ],
    ids=["revoked", "missing-scopes", "unavailable", "rate-limited"],
)
def test_a_key_the_provider_refuses_or_cannot_check_stores_nothing(
    world: ConnectWorld, error: PlatformError, code: str, status: int
) -> None:
    world.sources.refuse(OPENAI_KEY, error)  # type: ignore[arg-type]

    with pytest.raises(PlatformError) as raised:
        world.connect(OPENAI, OPENAI_KEY)

    assert (raised.value.code, status_for(raised.value)[0]) == (code, status)
    assert world.secrets.secret_ids() == []
    assert world.enterprise().providers == {}
    assert world.connections.records == {}
    assert world.tasks.names("usage-sync") == []
    assert [(e.action, e.code) for e in world.audit.of(ENTERPRISE_ID)] == [(AuditAction.VALIDATE_FAILED, code)]


def test_a_provider_slower_than_the_validation_deadline_counts_as_unavailable(world: ConnectWorld) -> None:
    world.settings = world.settings.model_copy(update={"provider_validation_timeout_s": 0.05})
    world.sources.delay_s = 2.0

    with pytest.raises(ProviderUnavailable) as raised:
        world.connect(ANTHROPIC, ANTHROPIC_KEY)

    assert raised.value.code == "provider_unavailable"
    assert world.secrets.secret_ids() == []
    assert world.sources.closed_count == world.sources.open_count == 1


def test_if_the_connection_cannot_be_recorded_the_new_version_is_destroyed(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY)
    before = world.enterprise().providers[OPENAI]
    original_save = world.connections.save_connection

    def outage(*args: Any, **kwargs: Any) -> None:
        raise DependencyUnavailable("the database is temporarily unavailable")

    world.connections.save_connection = outage  # type: ignore[method-assign]
    with pytest.raises(DependencyUnavailable):
        world.connect(OPENAI, OPENAI_KEY_2)

    assert world.secrets.states_of(OPENAI_SECRET) == ["ENABLED", "DESTROYED"]
    assert world.secrets.access(_version(OPENAI_SECRET, 1)).get_secret_value() == OPENAI_KEY
    assert world.enterprise().providers[OPENAI] == before
    world.connections.save_connection = original_save  # type: ignore[method-assign]


def test_a_concurrent_connect_that_finished_first_wins_and_ours_is_undone(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY)
    stale_read = world.connections.key_record
    world.connections.key_record = lambda *a, **k: None  # type: ignore[method-assign]

    with pytest.raises(Conflict) as raised:
        world.connect(OPENAI, OPENAI_KEY_2)

    world.connections.key_record = stale_read  # type: ignore[method-assign]
    assert raised.value.code == "concurrent_connect"
    assert world.secrets.states_of(OPENAI_SECRET) == ["ENABLED", "DESTROYED"]
    assert world.connections.records[(ENTERPRISE_ID, OPENAI)].secret_version == _version(OPENAI_SECRET, 1).name


def test_a_rotation_must_stay_in_the_connected_organisation(world: ConnectWorld) -> None:
    world.connect(ANTHROPIC, ANTHROPIC_KEY)
    other = OrgIdentity(provider=Provider.ANTHROPIC, org_id="other-org", org_name="Other", permissions=("admin",))
    world.sources.admit(ANTHROPIC_KEY_2, other)

    with pytest.raises(Conflict) as raised:
        world.connect(ANTHROPIC, ANTHROPIC_KEY_2)

    assert raised.value.code == "provider_org_mismatch"
    assert world.secrets.states_of(ANTHROPIC_SECRET) == ["ENABLED"]
    assert world.enterprise().providers[ANTHROPIC].org_id == "4f1e0c1a-org-acme"


def test_a_declared_openai_org_id_is_used_unless_the_provider_says_otherwise(world: ConnectWorld) -> None:
    assert world.connect(OPENAI, OPENAI_KEY, org_id="org-acme").state.org_id == "org-acme"

    revealing = OrgIdentity(provider=Provider.OPENAI, org_id="org-real", org_name=None, permissions=("usage.read",))
    world.sources.admit(OPENAI_KEY_2, revealing)
    with pytest.raises(InvalidInput) as raised:
        world.connect(OPENAI, OPENAI_KEY_2, org_id="org-typo")
    assert raised.value.code == "org_id_mismatch"
    assert world.secrets.states_of(OPENAI_SECRET) == ["ENABLED"]


def test_a_backfill_that_cannot_be_enqueued_stays_pending_and_the_next_connect_enqueues_the_same_tasks(
    world: ConnectWorld,
) -> None:
    world.tasks.down = True
    first = world.connect(OPENAI, OPENAI_KEY)
    assert (first.sync.status, first.state.status) == ("pending", ProviderStatus.CONNECTED)
    assert world.connections.records[(ENTERPRISE_ID, OPENAI)].backfill_pending

    world.tasks.heal()
    world.clock.advance(timedelta(days=2))
    again = world.connect(OPENAI, OPENAI_KEY_2)

    assert (again.rotated, again.sync.status, again.sync.backfill_days) == (True, "started", 90)
    names = world.tasks.names("usage-sync")
    assert names == [
        f"backfill-{ENTERPRISE_ID}-openai-20260826-20260926",
        f"backfill-{ENTERPRISE_ID}-openai-20260926-20261027",
        f"backfill-{ENTERPRISE_ID}-openai-20261027-20261124",
    ]
    assert not world.connections.records[(ENTERPRISE_ID, OPENAI)].backfill_pending


def test_a_partly_enqueued_backfill_stays_pending(world: ConnectWorld) -> None:
    world.tasks.fail_tasks(f"backfill-{ENTERPRISE_ID}-anthropic-20260926-20261027")

    result = world.connect(ANTHROPIC, ANTHROPIC_KEY)

    assert result.sync.status == "pending"
    assert world.connections.records[(ENTERPRISE_ID, ANTHROPIC)].backfill_pending


def test_connecting_again_after_a_disconnect_is_a_new_connection_with_a_new_backfill(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY)
    world.disconnect(OPENAI)
    world.clock.advance(timedelta(days=10))

    result = world.connect(OPENAI, OPENAI_KEY_2)

    assert not result.rotated
    assert result.state.status is ProviderStatus.CONNECTED
    assert world.secrets.states_of(OPENAI_SECRET) == ["DESTROYED", "ENABLED"]
    # 90 days ending 2026-12-03 start on 2026-09-05.
    assert world.tasks.names("usage-sync")[-3:] == [
        f"backfill-{ENTERPRISE_ID}-openai-20260905-20261006",
        f"backfill-{ENTERPRISE_ID}-openai-20261006-20261106",
        f"backfill-{ENTERPRISE_ID}-openai-20261106-20261204",
    ]


def test_a_rotation_ends_a_key_failure(world: ConnectWorld) -> None:
    world.connect(OPENAI, OPENAI_KEY)
    world.key_health().record_key_failure(
        ENTERPRISE_ID, OPENAI, ProviderAuthError("openai returned 401", provider="openai")
    )
    assert world.enterprise().providers[OPENAI].status is ProviderStatus.KEY_FAILED

    world.connect(OPENAI, OPENAI_KEY_2)

    state = world.enterprise().providers[OPENAI]
    assert (state.status, state.last_error) == (ProviderStatus.CONNECTED, None)
    assert world.connections.records[(ENTERPRISE_ID, OPENAI)].key_failed_at is None


def test_the_key_is_nowhere_but_in_the_secret_store(world: ConnectWorld, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    world.connect(OPENAI, OPENAI_KEY)
    world.connect(OPENAI, OPENAI_KEY_2)
    world.sources.refuse("sk-admin-UNITTEST-refused-22222222", ProviderAuthError("401", provider="openai"))
    with pytest.raises(ProviderAuthError) as raised:
        world.connect(OPENAI, "sk-admin-UNITTEST-refused-22222222")

    stored = json.dumps(
        [
            world.enterprise().model_dump(mode="json"),
            [r.model_dump(mode="json") for r in world.connections.records.values()],
            [e.model_dump(mode="json") for e in world.audit.of(ENTERPRISE_ID)],
            [dict(t.payload) for t in world.tasks.tasks("usage-sync")],
        ]
    )
    texts = [stored, str(raised.value), repr(raised.value), caplog.text]
    assert not [t for t in texts if "UNITTEST" in t]


def test_the_organisation_is_identified_by_what_the_provider_reports_never_by_what_the_admin_typed(
    world: ConnectWorld,
) -> None:
    """Peer benchmarks count an organisation once (ADR 0019): only identifiers the provider reported are recorded.
    Anthropic names its organisation (``/v1/organizations/me``, docs: platform.claude.com/docs/en/api/admin/
    organizations/me); OpenAI lists its projects (``/v1/organization/projects``); a typed org id is no identity."""
    world.connect(ANTHROPIC, ANTHROPIC_KEY)
    assert world.enterprise().providers[ANTHROPIC].org_keys == ["anthropic:org:4f1e0c1a-org-acme"]

    listed = OrgIdentity(
        provider=Provider.OPENAI,
        org_id=None,
        org_name=None,
        permissions=("usage.read", "management.read"),
        projects=("proj_b", "proj_a"),
    )
    world.sources.admit(OPENAI_KEY, listed)
    world.connect(OPENAI, OPENAI_KEY, org_id="org-typed-by-the-admin")
    assert world.enterprise().providers[OPENAI].org_keys == ["openai:project:proj_a", "openai:project:proj_b"]

    unlisted = OrgIdentity(provider=Provider.OPENAI, org_id=None, org_name=None, permissions=("usage.read",))
    world.sources.admit(OPENAI_KEY_2, unlisted)
    world.connect(OPENAI, OPENAI_KEY_2, org_id="org-typed-by-the-admin")
    assert world.enterprise().providers[OPENAI].org_keys is None
