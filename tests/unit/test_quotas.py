"""Quotas, through the ``api`` and ``connect`` applications: the request past the limit is a 429 problem with a
``Retry-After`` that names the end of the window, and it changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.tokens import mint_user_token
from shared.bootstrap import build_web_app
from shared.config import Settings
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import ADMIN_EMAIL, ConnectWorld
from tests.support.fake_invites import FakeInviteDeclines
from tests.support.fake_quotas import FakeQuotaCounter
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FakeEnterpriseStore, FixedClock

NOW = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # three hours before the day's window ends
ALICE = "alice@example.com"


def _settings(**limits: int) -> Settings:
    return Settings(project_id=TEST_PROJECT, firebase_auth_emulator_host="127.0.0.1:9099", **limits)  # type: ignore[arg-type]


def call(app: WebApp, method: str, path: str, email: str, body: Any = None, **headers: str) -> ApiResponse:
    token = mint_user_token(email, TEST_PROJECT, now=app.deps.clock.now().timestamp())
    hdrs = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers}
    return app.handle(ApiRequest(method, path, Headers(hdrs), {}, json.dumps(body).encode() if body else b""))


def assert_429(response: ApiResponse, code: str, retry_after: int) -> None:
    assert response.status == 429, response.body
    assert response.content_type == "application/problem+json"
    assert json.loads(response.body)["code"] == code
    assert response.headers["Retry-After"] == str(retry_after)


def _api(store: FakeEnterpriseStore, clock: FixedClock, **limits: int) -> WebApp:
    return build_web_app(
        "api",
        settings=_settings(**limits),
        enterprises=store,
        tasks=FakeTaskQueue(),
        invite_declines=FakeInviteDeclines(),
        quotas=FakeQuotaCounter(),
        clock=clock,
    )


def test_enterprises_per_user_per_day() -> None:
    store, clock = FakeEnterpriseStore(), FixedClock(NOW)
    app = _api(store, clock, quota_enterprises_per_user_per_day=2)
    for n in range(2):
        assert call(app, "POST", "/api/v1/enterprises", ALICE, {"name": f"Acme {n}"}).status == 201
    # A retry of a create that succeeded returns it and spends nothing.
    assert call(app, "POST", "/api/v1/enterprises", ALICE, {"name": "Acme 0"}).status == 200

    assert_429(
        call(app, "POST", "/api/v1/enterprises", ALICE, {"name": "Acme 2"}),
        "enterprise_creation_quota_exceeded",
        3 * 3600,
    )
    assert len(store.docs) == 2
    assert call(app, "POST", "/api/v1/enterprises", "bob@example.com", {"name": "Bob's"}).status == 201  # per user
    clock.advance(timedelta(hours=3))
    assert call(app, "POST", "/api/v1/enterprises", ALICE, {"name": "Acme 2"}).status == 201


def test_invites_per_enterprise_per_day() -> None:
    store, clock = FakeEnterpriseStore(), FixedClock(NOW)
    app = _api(store, clock, quota_invites_per_enterprise_per_day=3)
    acme = json.loads(call(app, "POST", "/api/v1/enterprises", ALICE, {"name": "Acme"}).body)["id"]
    for n in range(3):
        assert call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": f"p{n}@example.com"}).status == 201

    refused = call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": "p3@example.com"})

    assert_429(refused, "invites_quota_exceeded", 3 * 3600)
    assert sorted(store.docs[acme].invites) == ["p0@example.com", "p1@example.com", "p2@example.com"]


def test_connect_attempts_per_enterprise_per_hour_bound_key_probing() -> None:
    world = ConnectWorld(settings=_settings(quota_connect_attempts_per_enterprise_per_hour=2))
    world.clock.set(NOW + timedelta(minutes=40))
    app = build_web_app(
        "connect",
        settings=world.settings,
        quotas=FakeQuotaCounter(),
        clock=world.clock,
        enterprises=world.enterprises,
        provider_connections=world.connections,
        audit_log=world.audit,
        secrets=world.secrets,
        tasks=world.tasks,
        usage_source_factory=world.sources,
    )
    path = "/api/v1/enterprise/connect/anthropic"
    probes = [f"sk-ant-admin01-UNITTEST-probe-{n:02d}-000000000" for n in range(3)]
    answers = [call(app, "POST", path, ADMIN_EMAIL, {"admin_api_key": key}) for key in probes]

    assert [a.status for a in answers[:2]] == [400, 400]  # refused by the provider: each attempt still counts
    assert_429(answers[2], "connect_attempts_quota_exceeded", 20 * 60)
    assert world.sources.open_count == 2, "the third key never reached the provider"
    assert world.secrets.secret_ids() == []
    assert probes[2] not in answers[2].body.decode()
