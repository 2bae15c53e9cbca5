"""Connecting Amazon Bedrock with behaving fakes: the setup the admin pastes, what is stored where, each refusal's
code, rotation to the access-key fallback and disconnection.

The ``UsageSource`` is a fake here (the real client against the simulator: tests/integration/test_bedrock_client.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from devstack.tokens import mint_user_token
from shared.bootstrap import build_web_app
from shared.domain.connections.federation import external_id_for
from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.audit import AuditAction
from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.domain.providers.bedrock.connection import bundle
from shared.domain.providers.bedrock.cur import CurExport
from shared.domain.usage.records import OrgIdentity, Provider
from shared.errors import ProviderAuthError, ProviderPermissionError
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID, ConnectWorld
from tests.support.fake_quotas import FakeQuotaCounter

BEDROCK = ProviderName.BEDROCK
ROLE = "arn:aws:iam::123456789012:role/usage-tracking"
CONNECT = "/api/v1/enterprise/connect/bedrock"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzCANARYKEY"
EXTERNAL_ID = external_id_for(TEST_PROJECT, ENTERPRISE_ID)


def stored(**fields: Any) -> str:
    base: dict[str, Any] = {"external_id": EXTERNAL_ID, "regions": ["us-east-1"], "cost_explorer": True}
    return bundle(**{**base, **fields}).get_secret_value()


def identity(*, billed: bool = True, role: str | None = ROLE, account: str | None = "123456789012") -> OrgIdentity:
    return OrgIdentity(
        provider=Provider.BEDROCK,
        org_id=account,
        org_name=None,
        permissions=("cloudwatch:GetMetricData", "ce:GetCostAndUsage") if billed else ("cloudwatch:GetMetricData",),
        principal=role,
        projects=("us-east-1",),
        billing_export=billed,
    )


@pytest.fixture
def world() -> ConnectWorld:
    return ConnectWorld(settings=ConnectWorld().settings.model_copy(update={"project_id": TEST_PROJECT}))


def _app(world: ConnectWorld) -> WebApp:
    return build_web_app(
        "connect",
        quotas=FakeQuotaCounter(),
        clock=world.clock,
        enterprises=world.enterprises,
        provider_connections=world.connections,
        audit_log=world.audit,
        secrets=world.secrets,
        tasks=world.tasks,
        usage_source_factory=world.sources,
    )


def _call(app: WebApp, method: str, path: str, body: Any = None) -> tuple[int, Any, str]:
    now = app.deps.clock.now().timestamp()
    headers = {"Authorization": f"Bearer {mint_user_token(ADMIN_EMAIL, TEST_PROJECT, now=now)}"}
    raw = json.dumps(body).encode() if body is not None else b""
    response: ApiResponse = app.handle(ApiRequest(method, path, Headers(headers), {}, raw))
    text = response.body.decode()
    return response.status, json.loads(text) if text else None, text


def test_the_setup_gives_this_enterprises_external_id_in_a_trust_policy_to_paste(world: ConnectWorld) -> None:
    status, body, _ = _call(_app(world), "GET", f"{CONNECT}/setup")
    assert status == 200, body
    assert body["external_id"] == EXTERNAL_ID
    conditions = body["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]
    assert conditions["accounts.google.com:oaud"] == EXTERNAL_ID
    assert conditions["accounts.google.com:sub"] == world.settings.aws_federation_subjects[0]
    assert "ce:GetCostAndUsage" in body["permissions_policy"]["Statement"][0]["Action"]


def test_a_role_connection_stores_the_connection_in_secret_manager_and_its_facts_in_firestore(
    world: ConnectWorld,
) -> None:
    world.sources.admit(stored(role_arn=ROLE), identity())
    status, body, _ = _call(_app(world), "POST", CONNECT, {"role_arn": ROLE, "regions": ["us-east-1"]})

    assert status == 201, body
    assert (body["provider"], body["org_id"], body["cost_source"], body["role_arn"]) == (
        "bedrock",
        "123456789012",
        "billed",
        ROLE,
    )
    state = world.enterprise().providers[BEDROCK]
    assert (state.status, state.aws_regions, state.cost_explorer_connected) == (
        ProviderStatus.CONNECTED,
        ["us-east-1"],
        True,
    )
    assert [e.action for e in world.audit.of(ENTERPRISE_ID)] == [AuditAction.CONNECT]
    assert world.tasks.tasks("usage-sync")


def test_a_rotation_to_the_access_key_fallback_keeps_the_account_and_the_key_stays_in_secret_manager(
    world: ConnectWorld,
) -> None:
    world.sources.admit(stored(role_arn=ROLE, cost_explorer=False), identity(billed=False))
    keys = stored(access_key_id="AKIAABCDEFGHIJKLMNOP", secret_access_key=SecretStr(SECRET))
    world.sources.admit(keys, identity(role=None, account=None))
    app = _app(world)

    first = _call(app, "POST", CONNECT, {"role_arn": ROLE, "regions": ["us-east-1"], "cost_explorer": False})
    rotated = _call(
        app,
        "POST",
        CONNECT,
        {"access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": SECRET, "regions": ["us-east-1"]},
    )

    assert (first[0], first[1]["cost_source"]) == (201, "estimated")
    assert (rotated[0], rotated[1]["rotated"], rotated[1]["org_id"]) == (200, True, "123456789012")
    assert SECRET not in rotated[2]
    assert SECRET not in repr(world.enterprise()) + repr(world.connections.records) + repr(
        world.audit.of(ENTERPRISE_ID)
    )
    assert world.secrets.states_of(secret_id_for(ENTERPRISE_ID, "bedrock")) == ["DISABLED", "ENABLED"]
    assert world.disconnect(BEDROCK).destroyed_versions == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"role_arn": ROLE, "regions": ["us-east-1"], "external_id": "usage-tracking-other"},
            "aws_external_id_mismatch",
        ),
        ({"role_arn": "arn:aws:iam::1:role/x", "regions": ["us-east-1"]}, "invalid_role_arn"),
        ({"role_arn": ROLE, "regions": ["mars-1"]}, "invalid_aws_regions"),
        ({"regions": ["us-east-1"]}, "invalid_aws_credentials"),
    ],
)
def test_a_wrong_request_is_refused_before_any_aws_call_and_nothing_is_stored(
    world: ConnectWorld, body: dict[str, Any], code: str
) -> None:
    status, answer, _ = _call(_app(world), "POST", CONNECT, body)
    assert (status, answer["code"]) == (400, code)
    assert world.sources.validations == []
    assert BEDROCK not in world.enterprise().providers
    assert secret_id_for(ENTERPRISE_ID, "bedrock") not in world.secrets.secret_ids()


@pytest.mark.parametrize(
    ("error", "code", "hint_words"),
    [
        (
            ProviderAuthError("403 AccessDenied", provider="bedrock", code="aws_role_not_assumable", hint="paste it"),
            "aws_role_not_assumable",
            "paste it",
        ),
        (
            ProviderPermissionError("ce", provider="bedrock", code="aws_cost_explorer_not_enabled", hint="launch it"),
            "aws_cost_explorer_not_enabled",
            "launch it",
        ),
    ],
)
def test_aws_refusals_keep_their_code_and_hint_and_nothing_is_stored(
    world: ConnectWorld, error: Exception, code: str, hint_words: str
) -> None:
    world.sources.refuse(stored(role_arn=ROLE), error)  # type: ignore[arg-type]
    status, body, _ = _call(_app(world), "POST", CONNECT, {"role_arn": ROLE, "regions": ["us-east-1"]})
    assert (status, body["code"]) == (400, code)
    assert hint_words in body["detail"]
    assert secret_id_for(ENTERPRISE_ID, "bedrock") not in world.secrets.secret_ids()
    assert [(e.action, e.code) for e in world.audit.of(ENTERPRISE_ID)] == [(AuditAction.VALIDATE_FAILED, code)]


def test_a_role_that_stops_working_marks_bedrock_key_failed_and_tells_the_admins_what_to_restore(
    world: ConnectWorld,
) -> None:
    world.sources.admit(stored(role_arn=ROLE), identity())
    assert _call(_app(world), "POST", CONNECT, {"role_arn": ROLE, "regions": ["us-east-1"]})[0] == 201
    refused = ProviderAuthError("AccessDenied", provider="bedrock", code="aws_role_not_assumable", hint="paste it")

    assert world.key_health().record_key_failure(ENTERPRISE_ID, BEDROCK, refused)

    state = world.enterprise().providers[BEDROCK]
    assert (state.status, state.last_error) == (ProviderStatus.KEY_FAILED, "aws_role_not_assumable")
    [mail] = world.mailer.sent
    assert "Amazon Bedrock IAM role" in mail["Subject"]
    assert "can no longer be assumed" in mail.get_content()


CUR = {"bucket": "acme-billing", "path": "cur/bedrock-cur2", "region": "eu-west-1"}


def test_a_cur_export_is_stored_with_the_connection_and_makes_the_cost_billed(world: ConnectWorld) -> None:
    export = CurExport(**CUR)
    world.sources.admit(stored(role_arn=ROLE, cost_explorer=False, cur=export), identity(billed=True))
    body = {"role_arn": ROLE, "regions": ["us-east-1"], "cost_explorer": False, "cur": CUR}
    status, answer, _ = _call(_app(world), "POST", CONNECT, body)
    assert status == 201, answer
    assert answer["cost_source"] == "billed"
    assert world.enterprise().providers[BEDROCK].cost_explorer_connected is True


def test_a_malformed_cur_location_is_refused_before_anything_is_stored(world: ConnectWorld) -> None:
    body = {"role_arn": ROLE, "regions": ["us-east-1"], "cur": {**CUR, "path": "cur/../../etc"}}
    status, answer, _ = _call(_app(world), "POST", CONNECT, body)
    assert (status, answer["code"]) == (400, "invalid_cur")
    assert BEDROCK not in world.enterprise().providers


def test_the_setup_for_a_cur_export_grants_reading_that_export_only(world: ConnectWorld) -> None:
    app = _app(world)
    now = app.deps.clock.now().timestamp()
    headers = {"Authorization": f"Bearer {mint_user_token(ADMIN_EMAIL, TEST_PROJECT, now=now)}"}
    query = {"cur_bucket": ["acme-billing"], "cur_path": ["cur/bedrock-cur2"]}
    response = app.handle(ApiRequest("GET", f"{CONNECT}/setup", Headers(headers), query, b""))
    assert response.status == 200, response.body
    statements = json.loads(response.body)["permissions_policy"]["Statement"]
    assert {s["Resource"] for s in statements if s["Sid"].startswith("UsageTrackingCur")} == {
        "arn:aws:s3:::acme-billing",
        "arn:aws:s3:::acme-billing/cur/bedrock-cur2/*",
    }
