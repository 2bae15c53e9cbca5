"""Connecting Google with behaving fakes: what is stored where, what the response and state say, each refusal's code.

The ``UsageSource`` is a fake here (the real client against the simulator: tests/integration/test_google_client.py);
this tests the connect flow's decisions, not Google's wire format.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.tokens import mint_user_token
from shared.bootstrap import build_web_app
from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.audit import AuditAction
from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.domain.providers.google.connection import bundle, parse_connection
from shared.domain.usage.records import OrgIdentity, Provider
from shared.errors import BillingExportUnreadable, ProviderAuthError, ProviderPermissionError
from shared.ports import SecretVersionRef
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID, ConnectWorld
from tests.support.fake_quotas import FakeQuotaCounter
from tests.support.google_keys import pem_body, service_account_key

GOOGLE = ProviderName.GOOGLE
PROJECTS = ["acme-prod-ai", "acme-studio"]
TABLE = "acme-finops.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
CONNECT = "/api/v1/enterprise/connect/google"


def canonical(key: dict[str, Any], projects: list[str] = PROJECTS, table: str | None = TABLE) -> str:
    return parse_connection(bundle(key, projects, table)).to_secret().get_secret_value()


def identity(key: dict[str, Any], table: str | None = TABLE) -> OrgIdentity:
    return OrgIdentity(
        provider=Provider.GOOGLE,
        org_id=None,
        org_name=None,
        permissions=("monitoring.timeSeries.list", "billing_export.read") if table else ("monitoring.timeSeries.list",),
        principal=key["client_email"],
        projects=tuple(PROJECTS),
        billing_export=table is not None,
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


def _post(app: WebApp, body: Any) -> tuple[int, Any, str]:
    now = app.deps.clock.now().timestamp()
    headers = {"Authorization": f"Bearer {mint_user_token(ADMIN_EMAIL, TEST_PROJECT, now=now)}"}
    response: ApiResponse = app.handle(ApiRequest("POST", CONNECT, Headers(headers), {}, json.dumps(body).encode()))
    text = response.body.decode()
    return response.status, json.loads(text), text


def test_a_google_connection_stores_the_key_in_secret_manager_and_only_its_facts_in_firestore(
    world: ConnectWorld,
) -> None:
    key = service_account_key()
    world.sources.admit(canonical(key), identity(key))
    app = _app(world)

    status, body, text = _post(
        app, {"service_account_key": key, "project_ids": PROJECTS, "billing_export_table": TABLE}
    )

    assert status == 201, body
    assert (body["provider"], body["cost_source"], body["billing_export_connected"]) == ("google", "billed", True)
    assert (body["project_ids"], body["service_account_email"]) == (PROJECTS, key["client_email"])
    assert pem_body(key) not in text
    secret = secret_id_for(ENTERPRISE_ID, "google")
    version = SecretVersionRef(f"projects/{TEST_PROJECT}/secrets/{secret}/versions/1")
    stored = world.secrets.access(version).get_secret_value()
    assert stored == canonical(key)  # the key, projects and table, canonical; no token_uri
    state = world.enterprise().providers[GOOGLE]
    assert (state.status, state.project_ids, state.billing_export_connected) == (
        ProviderStatus.CONNECTED,
        PROJECTS,
        True,
    )
    assert pem_body(key) not in repr(world.enterprise()) + repr(world.connections.records)
    assert [e.action for e in world.audit.of(ENTERPRISE_ID)] == [AuditAction.CONNECT]
    assert world.tasks.tasks("usage-sync")  # the history backfill started


def test_without_a_billing_table_the_connection_is_estimated_and_a_rotation_may_add_one(world: ConnectWorld) -> None:
    key, key_2 = service_account_key(), service_account_key("usage-reader-2")
    world.sources.admit(canonical(key, table=None), identity(key, table=None))
    world.sources.admit(canonical(key_2), identity(key_2))
    app = _app(world)

    first = _post(app, {"service_account_key": json.dumps(key), "project_ids": PROJECTS})
    rotated = _post(app, {"service_account_key": key_2, "project_ids": PROJECTS, "billing_export_table": TABLE})

    assert (first[0], first[1]["cost_source"], first[1]["billing_export_connected"]) == (201, "estimated", False)
    assert (rotated[0], rotated[1]["rotated"], rotated[1]["cost_source"]) == (200, True, "billed")
    secret = secret_id_for(ENTERPRISE_ID, "google")
    assert world.secrets.states_of(secret) == ["DISABLED", "ENABLED"]
    assert world.enterprise().providers[GOOGLE].service_account_email == key_2["client_email"]


@pytest.mark.parametrize(
    ("error", "code", "in_message"),
    [
        (
            ProviderAuthError("400 invalid_grant", provider="google"),
            "provider_key_invalid",
            "invalid or has been revoked",
        ),
        (
            ProviderPermissionError("403", provider="google", hint="grant roles/monitoring.viewer on acme-studio"),
            "provider_key_missing_scopes",
            "grant roles/monitoring.viewer on acme-studio",
        ),
        (
            BillingExportUnreadable("404", provider="google", hint="check the table name"),
            "billing_export_unreadable",
            "may not read the billing export: check the table name",
        ),
    ],
    ids=["key-refused", "project-not-readable", "billing-export-unreadable"],
)
def test_a_refused_google_connection_answers_400_with_its_code_and_stores_nothing(
    world: ConnectWorld, error: Exception, code: str, in_message: str
) -> None:
    key = service_account_key()
    world.sources.refuse(canonical(key), error)  # type: ignore[arg-type]

    status, body, text = _post(
        _app(world), {"service_account_key": key, "project_ids": PROJECTS, "billing_export_table": TABLE}
    )

    assert (status, body["code"], body["provider"]) == (400, code, "google")
    assert in_message in body["detail"]
    assert pem_body(key) not in text
    assert world.secrets.secret_ids() == []
    assert GOOGLE not in world.enterprise().providers
    [refusal] = world.audit.of(ENTERPRISE_ID)
    assert (refusal.action, refusal.code) == (AuditAction.VALIDATE_FAILED, code)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"service_account_key": {"type": "authorized_user"}, "project_ids": PROJECTS},
            400,
            "not_a_service_account_key",
        ),
        ({"service_account_key": "{", "project_ids": PROJECTS}, 400, "malformed_key"),
        ({"service_account_key": 12345, "project_ids": PROJECTS}, 400, "validation_failed"),
        ({"service_account_key": service_account_key(), "project_ids": ["Bad_Id"]}, 400, "invalid_project_ids"),
        ({"service_account_key": service_account_key()}, 400, "validation_failed"),
        (
            {"service_account_key": service_account_key(), "project_ids": PROJECTS, "billing_export_table": "x"},
            400,
            "invalid_billing_export_table",
        ),
        (
            {"service_account_key": service_account_key(), "project_ids": PROJECTS, "colour": "red"},
            400,
            "validation_failed",
        ),
    ],
    ids=["user-credentials", "not-json", "a-number", "bad-project", "no-projects", "bad-table", "unknown-field"],
)
def test_malformed_google_requests_never_reach_google(world: ConnectWorld, body: Any, status: int, code: str) -> None:
    answer = _post(_app(world), body)
    assert (answer[0], answer[1]["code"]) == (status, code)
    assert world.sources.validations == []
    assert world.secrets.secret_ids() == []
    assert pem_body(service_account_key()) not in answer[2]
