"""Key failures: the status turns ``key_failed``, the audit log says so, and admins get one email per episode."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.audit import AuditAction
from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.errors import DependencyUnavailable, ProviderAuthError, ProviderPermissionError
from shared.ports import SecretVersionRef
from tests.support.connect_world import ANTHROPIC_KEY, ENTERPRISE_ID, OPENAI_KEY, OPENAI_KEY_2, ConnectWorld

OPENAI = ProviderName.OPENAI
REVOKED = ProviderAuthError("openai returned 401 for /v1/organization/costs: invalid_api_key", provider="openai")


@pytest.fixture
def world() -> ConnectWorld:
    w = ConnectWorld()
    w.connect(OPENAI, OPENAI_KEY)
    w.clock.advance(timedelta(hours=1))
    return w


def _key_failed_entries(world: ConnectWorld) -> list[int | None]:
    return [e.secret_version for e in world.audit.of(ENTERPRISE_ID) if e.action is AuditAction.KEY_FAILED]


def test_a_first_failure_marks_the_key_failed_and_emails_the_admins_only(world: ConnectWorld) -> None:
    started = world.key_health().record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)

    assert started
    state = world.enterprise().providers[OPENAI]
    assert (state.connected, state.status, state.last_error) == (
        True,
        ProviderStatus.KEY_FAILED,
        "provider_key_invalid",
    )
    [entry] = [e for e in world.audit.of(ENTERPRISE_ID) if e.action is AuditAction.KEY_FAILED]
    assert (entry.code, entry.secret_version, entry.actor.kind.value) == ("provider_key_invalid", 1, "system")
    [mail] = world.mailer.sent
    assert mail["To"] == "ada@example.com"  # the viewer is not told
    assert "OpenAI" in mail["Subject"]
    assert "Acme" in mail["Subject"]
    body = mail.get_content()
    assert world.settings.site_settings_url in body
    assert "invalid or has been revoked" in body
    assert "UNITTEST" not in mail.as_string()


def test_repeated_failures_of_the_same_episode_send_no_more_email(world: ConnectWorld) -> None:
    health = world.key_health()
    health.record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)
    for _ in range(3):
        world.clock.advance(timedelta(hours=1))
        assert not health.record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)

    assert len(world.mailer.sent) == 1
    assert _key_failed_entries(world) == [1]


def test_an_alert_the_relay_refused_is_sent_by_the_retry_and_only_once(world: ConnectWorld) -> None:
    health = world.key_health()
    world.mailer.down = True
    with pytest.raises(DependencyUnavailable):
        health.record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)
    assert world.enterprise().providers[OPENAI].status is ProviderStatus.KEY_FAILED

    world.mailer.down = False
    health.record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)
    health.record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)

    assert len(world.mailer.sent) == 1
    assert _key_failed_entries(world) == [1]


def test_a_rotation_ends_the_episode_and_a_later_failure_of_the_new_key_alerts_again(world: ConnectWorld) -> None:
    health = world.key_health()
    health.record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)
    world.clock.advance(timedelta(days=1))
    world.connect(OPENAI, OPENAI_KEY_2)
    world.clock.advance(timedelta(days=1))

    scopes = ProviderPermissionError("openai returned 403: Missing scopes", provider="openai")
    assert health.record_key_failure(ENTERPRISE_ID, OPENAI, scopes)

    assert len(world.mailer.sent) == 2
    assert "no longer allowed to read usage" in world.mailer.sent[1].get_content()
    assert _key_failed_entries(world) == [1, 2]
    assert world.enterprise().providers[OPENAI].last_error == "provider_key_missing_scopes"


def test_a_late_report_about_a_key_already_rotated_away_changes_nothing(world: ConnectWorld) -> None:
    old = SecretVersionRef(f"projects/demo-test/secrets/{secret_id_for(ENTERPRISE_ID, 'openai')}/versions/1")
    world.connect(OPENAI, OPENAI_KEY_2)

    assert not world.key_health().record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED, secret_version=old)

    assert world.enterprise().providers[OPENAI].status is ProviderStatus.CONNECTED
    assert world.mailer.sent == []


def test_failures_of_disconnected_or_unconnected_providers_are_ignored(world: ConnectWorld) -> None:
    world.disconnect(OPENAI)
    health = world.key_health()

    assert not health.record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)
    anthropic_error = ProviderAuthError("anthropic returned 401", provider="anthropic")
    assert not health.record_key_failure(ENTERPRISE_ID, ProviderName.ANTHROPIC, anthropic_error)

    assert world.enterprise().providers[OPENAI].status is ProviderStatus.DISCONNECTED
    assert world.mailer.sent == []


def test_each_provider_has_its_own_episode(world: ConnectWorld) -> None:
    world.connect(ProviderName.ANTHROPIC, ANTHROPIC_KEY)
    health = world.key_health()

    health.record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)
    health.record_key_failure(
        ENTERPRISE_ID, ProviderName.ANTHROPIC, ProviderAuthError("anthropic returned 401", provider="anthropic")
    )

    assert [m["Subject"].split(" the ")[1].split(" ")[0] for m in world.mailer.sent] == ["OpenAI", "Anthropic"]


def test_a_newline_in_the_enterprise_name_is_folded_out_of_the_subject(world: ConnectWorld) -> None:
    """Names stored before control characters were refused still reach the header: one line, nothing injected."""
    docs = world.enterprises.docs
    docs[ENTERPRISE_ID] = docs[ENTERPRISE_ID].model_copy(update={"name": "Acme\r\nBcc: victim@example.com"})

    assert world.key_health().record_key_failure(ENTERPRISE_ID, OPENAI, REVOKED)

    [mail] = world.mailer.sent
    assert mail["Subject"] == "Action needed: the OpenAI admin key of Acme Bcc: victim@example.com stopped working"
    assert mail["Bcc"] is None
