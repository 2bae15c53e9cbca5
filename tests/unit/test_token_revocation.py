"""A revoked Firebase session (signed out everywhere, disabled, deleted) keeps a valid-looking ID token for up to an
hour: sensitive operations (erasure, provider keys, membership) check revocation; ordinary reads do not pay for it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devstack.tokens import mint_user_token, uid_for_email
from shared.bootstrap import build_web_app
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.fake_invites import FakeInviteDeclines
from tests.support.fake_quotas import FakeQuotaCounter
from tests.support.fake_revocations import FakeRevocations
from tests.support.fake_sync import FakeCoverageStore
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FakeEnterpriseStore

ALICE = "alice@example.com"
SIGNED_IN = time.time() - 600


def call(app: WebApp, method: str, path: str, body: Any = None) -> ApiResponse:
    token = mint_user_token(ALICE, TEST_PROJECT, now=SIGNED_IN + 60, auth_time=int(SIGNED_IN))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return app.handle(ApiRequest(method, path, Headers(headers), {}, json.dumps(body).encode() if body else b""))


@pytest.fixture
def revocations() -> FakeRevocations:
    return FakeRevocations()


@pytest.fixture
def app(revocations: FakeRevocations) -> WebApp:
    app = build_web_app(
        "api",
        enterprises=FakeEnterpriseStore(),
        tasks=FakeTaskQueue(),
        invite_declines=FakeInviteDeclines(),
        quotas=FakeQuotaCounter(),
        revocations=revocations,
        coverage=FakeCoverageStore(),
    )
    assert call(app, "POST", "/api/v1/enterprises", {"name": "Acme"}).status == 201
    return app


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("DELETE", "/api/v1/enterprise", None),
        ("POST", "/api/v1/enterprise/members", {"email": "bob@example.com"}),
        ("DELETE", "/api/v1/enterprise/members/bob@example.com", None),
    ],
)
def test_a_revoked_session_cannot_erase_or_change_members(
    app: WebApp, revocations: FakeRevocations, method: str, path: str, body: Any
) -> None:
    revocations.revoke(uid_for_email(ALICE), SIGNED_IN + 300)  # signed out everywhere after this token's sign-in

    refused = call(app, method, path, body)

    assert (refused.status, json.loads(refused.body)["code"]) == (401, "token_revoked")
    assert call(app, "GET", "/api/v1/enterprise").status == 200  # reads are not checked


def test_a_session_signed_in_after_the_revocation_is_fine(app: WebApp, revocations: FakeRevocations) -> None:
    revocations.revoke(uid_for_email(ALICE), SIGNED_IN - 300)
    assert call(app, "POST", "/api/v1/enterprise/members", {"email": "bob@example.com"}).status == 201


def test_the_sensitive_routes_are_the_ones_that_change_keys_membership_or_existence() -> None:
    from shared.bootstrap import load_router

    sensitive = {(r.method, r.path) for f in ("api", "connect") for r in load_router(f).routes if r.sensitive}
    assert sensitive == {
        ("DELETE", "/api/v1/enterprise"),
        ("POST", "/api/v1/enterprise/members"),
        ("PATCH", "/api/v1/enterprise/members/{uid}"),
        ("DELETE", "/api/v1/enterprise/members/{uid}"),
        ("POST", "/api/v1/invites/{enterprise_id}/accept"),
        ("POST", "/api/v1/enterprise/connect/openai"),
        ("POST", "/api/v1/enterprise/connect/anthropic"),
        ("POST", "/api/v1/enterprise/connect/google"),
        ("DELETE", "/api/v1/enterprise/connect/{provider}"),
    }
