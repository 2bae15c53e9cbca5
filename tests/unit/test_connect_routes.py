"""The connect routes and the audit-log route over the web layer, with behaving fakes: statuses, codes, who may."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from devstack.tokens import mint_user_token
from shared.bootstrap import build_web_app
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import (
    ADMIN_EMAIL,
    ANTHROPIC_KEY,
    OPENAI_KEY,
    OPENAI_KEY_2,
    VIEWER_EMAIL,
    ConnectWorld,
)
from tests.support.fake_quotas import FakeQuotaCounter

CONNECT_OPENAI = "/api/v1/enterprise/connect/openai"
CONNECT_ANTHROPIC = "/api/v1/enterprise/connect/anthropic"
AUDIT_LOG = "/api/v1/enterprise/audit-log"


@pytest.fixture
def world() -> ConnectWorld:
    return ConnectWorld(settings=ConnectWorld().settings.model_copy(update={"project_id": TEST_PROJECT}))


def _app(world: ConnectWorld, function: str) -> WebApp:
    return build_web_app(
        function,
        quotas=FakeQuotaCounter(),
        clock=world.clock,
        enterprises=world.enterprises,
        provider_connections=world.connections,
        audit_log=world.audit,
        secrets=world.secrets,
        tasks=world.tasks,
        usage_source_factory=world.sources,
    )


def _call(app: WebApp, method: str, path: str, email: str | None, body: Any = None) -> ApiResponse:
    now = app.deps.clock.now().timestamp()  # tokens are checked against the app's (fixed) clock
    headers = {"Authorization": f"Bearer {mint_user_token(email, TEST_PROJECT, now=now)}"} if email else {}
    query: dict[str, list[str]] = {}
    if "?" in path:
        path, _, qs = path.partition("?")
        for pair in qs.split("&"):
            k, _, v = pair.partition("=")
            query.setdefault(k, []).append(v)
    raw = json.dumps(body).encode() if body is not None else b""
    return app.handle(ApiRequest(method, path, Headers(headers), query, raw))


def _json(response: ApiResponse) -> Any:
    return json.loads(response.body)


def test_an_admin_connects_then_rotates(world: ConnectWorld) -> None:
    app = _app(world, "connect")

    first = _call(app, "POST", CONNECT_OPENAI, ADMIN_EMAIL, {"admin_api_key": OPENAI_KEY, "org_id": "org-acme"})
    again = _call(app, "POST", CONNECT_OPENAI, ADMIN_EMAIL, {"admin_api_key": OPENAI_KEY_2})

    assert (first.status, again.status) == (201, 200)
    body = _json(first)
    assert body["success"] is True
    assert (body["provider"], body["org_id"], body["rotated"], body["status"]) == (
        "openai",
        "org-acme",
        False,
        "connected",
    )
    assert body["key_id"].startswith("key_")
    assert len(body["key_id"]) == 20
    assert body["sync"] == {"status": "started", "backfill_days": 90}
    assert (_json(again)["rotated"], _json(again)["sync"]["status"]) == (True, "not_needed")
    for response in (first, again):
        assert "UNITTEST" not in response.body.decode()
        assert "projects/" not in response.body.decode()


def test_provider_refusals_map_to_their_status_and_code(world: ConnectWorld) -> None:
    app = _app(world, "connect")

    project_key = _call(app, "POST", CONNECT_ANTHROPIC, ADMIN_EMAIL, {"admin_api_key": "sk-ant-api03-" + "x" * 30})
    unknown = _call(app, "POST", CONNECT_ANTHROPIC, ADMIN_EMAIL, {"admin_api_key": "sk-ant-admin01-" + "y" * 30})

    assert (project_key.status, _json(project_key)["code"]) == (400, "not_an_admin_key")
    assert (unknown.status, _json(unknown)["code"], _json(unknown)["provider"]) == (
        400,
        "provider_key_invalid",
        "anthropic",
    )
    assert world.secrets.secret_ids() == []


def test_bodies_are_validated_without_echoing_the_key(world: ConnectWorld) -> None:
    app = _app(world, "connect")

    extra = _call(app, "POST", CONNECT_ANTHROPIC, ADMIN_EMAIL, {"admin_api_key": ANTHROPIC_KEY, "org_id": "org-x"})
    missing = _call(app, "POST", CONNECT_OPENAI, ADMIN_EMAIL, {})
    bad_org = _call(app, "POST", CONNECT_OPENAI, ADMIN_EMAIL, {"admin_api_key": OPENAI_KEY, "org_id": "acme"})

    assert [r.status for r in (extra, missing, bad_org)] == [400, 400, 400]
    assert [e["field"] for e in _json(extra)["errors"]] == ["body.org_id"]
    assert [e["field"] for e in _json(missing)["errors"]] == ["body.admin_api_key"]
    assert [e["field"] for e in _json(bad_org)["errors"]] == ["body.org_id"]
    assert not any("UNITTEST" in r.body.decode() for r in (extra, missing, bad_org))
    assert world.secrets.secret_ids() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", CONNECT_OPENAI, {"admin_api_key": OPENAI_KEY}),
        ("POST", CONNECT_ANTHROPIC, {"admin_api_key": ANTHROPIC_KEY}),
        ("DELETE", "/api/v1/enterprise/connect/openai", None),
        (
            "POST",
            "/api/v1/enterprise/connect/bedrock",
            {"role_arn": "arn:aws:iam::123456789012:role/r", "regions": ["us-east-1"]},
        ),
        ("GET", "/api/v1/enterprise/connect/bedrock/setup", None),
        (
            "POST",
            "/api/v1/enterprise/connect/azure",
            {
                "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "client_id": "11111111-2222-3333-4444-555555555555",
                "accounts": [
                    "/subscriptions/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/resourceGroups/rg/providers/"
                    "Microsoft.CognitiveServices/accounts/a"
                ],
            },
        ),
        ("GET", "/api/v1/enterprise/connect/azure/setup", None),
    ],
)
def test_viewers_get_403_and_outsiders_404_and_nothing_changes(
    world: ConnectWorld, method: str, path: str, body: Any
) -> None:
    app = _app(world, "connect")
    _call(app, "POST", CONNECT_OPENAI, ADMIN_EMAIL, {"admin_api_key": OPENAI_KEY})
    before = (world.enterprise(), world.secrets.states_of(world.secrets.secret_ids()[0]))

    viewer = _call(app, method, path, VIEWER_EMAIL, body)
    outsider = _call(app, method, path, "mallory@example.com", body)

    assert (viewer.status, _json(viewer)["code"]) == (403, "admin_required")
    assert (outsider.status, _json(outsider)["code"]) == (404, "enterprise_not_found")
    assert (world.enterprise(), world.secrets.states_of(world.secrets.secret_ids()[0])) == before


def test_disconnect_answers_with_what_it_destroyed(world: ConnectWorld) -> None:
    app = _app(world, "connect")
    _call(app, "POST", CONNECT_OPENAI, ADMIN_EMAIL, {"admin_api_key": OPENAI_KEY})

    gone = _call(app, "DELETE", "/api/v1/enterprise/connect/openai", ADMIN_EMAIL)
    again = _call(app, "DELETE", "/api/v1/enterprise/connect/openai", ADMIN_EMAIL)
    never = _call(app, "DELETE", "/api/v1/enterprise/connect/anthropic", ADMIN_EMAIL)
    unknown = _call(app, "DELETE", "/api/v1/enterprise/connect/mistral", ADMIN_EMAIL)

    assert (gone.status, _json(gone)) == (
        200,
        {"success": True, "provider": "openai", "status": "disconnected", "destroyed_versions": 1},
    )
    assert (again.status, _json(again)["destroyed_versions"]) == (200, 0)
    assert (never.status, _json(never)["code"]) == (404, "provider_not_connected")
    assert (unknown.status, _json(unknown)["code"]) == (404, "unknown_provider")
    assert _call(app, "PUT", CONNECT_OPENAI, ADMIN_EMAIL, {}).headers["Allow"] == "DELETE, POST"


def test_admins_read_the_audit_log_through_the_api_and_others_cannot(world: ConnectWorld) -> None:
    connect, api = _app(world, "connect"), _app(world, "api")
    _call(connect, "POST", CONNECT_OPENAI, ADMIN_EMAIL, {"admin_api_key": OPENAI_KEY})
    world.clock.advance(timedelta(minutes=1))
    _call(connect, "POST", CONNECT_OPENAI, ADMIN_EMAIL, {"admin_api_key": "sk-proj-" + "z" * 30})

    page = _call(api, "GET", f"{AUDIT_LOG}?limit=1", ADMIN_EMAIL)
    rest = _call(api, "GET", f"{AUDIT_LOG}?limit=1&page_token={_json(page)['next_page_token']}", ADMIN_EMAIL)

    assert page.status == 200
    [newest] = _json(page)["entries"]
    assert (newest["action"], newest["code"], newest["actor"]["email"]) == (
        "validate_failed",
        "not_an_admin_key",
        ADMIN_EMAIL,
    )
    assert [e["action"] for e in _json(rest)["entries"]] == ["connect"]
    assert _json(rest)["next_page_token"] is None
    assert _call(api, "GET", AUDIT_LOG, VIEWER_EMAIL).status == 403
    assert _call(api, "GET", AUDIT_LOG, "mallory@example.com").status == 404
    assert _json(_call(api, "GET", f"{AUDIT_LOG}?limit=500", ADMIN_EMAIL))["code"] == "validation_failed"
    assert _json(_call(api, "GET", f"{AUDIT_LOG}?page_token=zzz", ADMIN_EMAIL))["code"] == "invalid_page_token"
