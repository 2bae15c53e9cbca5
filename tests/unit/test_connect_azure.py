"""Connecting Azure OpenAI with behaving fakes: the setup the admin follows, what is stored where, each refusal's
code, rotation to the client-secret fallback, disconnection and key health.

The ``UsageSource`` is a fake here (the real client against the simulator: tests/integration/test_azure_client.py).
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
from shared.domain.providers.azure.connection import bundle
from shared.domain.usage.records import OrgIdentity, Provider
from shared.errors import ProviderAuthError, ProviderPermissionError
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID, ConnectWorld
from tests.support.fake_quotas import FakeQuotaCounter

AZURE = ProviderName.AZURE
CONNECT = "/api/v1/enterprise/connect/azure"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
SUB = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-eastus"
SECRET = "Q~8sim_fallback.client-secret-XYZ"
EXTERNAL_ID = external_id_for(TEST_PROJECT, ENTERPRISE_ID)
REQUEST = {"tenant_id": TENANT, "client_id": CLIENT, "accounts": [ACCOUNT]}


def stored(**fields: Any) -> str:
    base: dict[str, Any] = {
        "external_id": EXTERNAL_ID,
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "accounts": [ACCOUNT],
        "cost_management": True,
    }
    return bundle(**{**base, **fields}).get_secret_value()


def identity(*, billed: bool = True) -> OrgIdentity:
    return OrgIdentity(
        provider=Provider.AZURE,
        org_id=TENANT,
        org_name=None,
        permissions=("Microsoft.Insights/metrics/read",),
        principal=CLIENT,
        projects=("aoai-eastus",),
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


def test_the_setup_gives_federated_credentials_for_this_enterprises_audience_and_the_roles(
    world: ConnectWorld,
) -> None:
    status, body, _ = _call(_app(world), "GET", f"{CONNECT}/setup")
    assert status == 200, body
    assert body["external_id"] == EXTERNAL_ID
    [credential] = body["federated_credentials"]
    assert credential["issuer"] == "https://accounts.google.com"
    assert credential["subject"] == world.settings.aws_federation_subjects[0]
    assert credential["audiences"] == [EXTERNAL_ID]
    roles = {r["role"] for r in body["role_assignments"]}
    assert roles == {"Monitoring Reader", "Reader", "Cost Management Reader"}


def test_a_federated_connection_stores_the_connection_in_secret_manager_and_its_facts_in_firestore(
    world: ConnectWorld,
) -> None:
    world.sources.admit(stored(), identity())
    status, body, _ = _call(_app(world), "POST", CONNECT, REQUEST)

    assert status == 201, body
    assert (body["provider"], body["org_id"], body["cost_source"], body["project_ids"]) == (
        "azure",
        TENANT,
        "billed",
        ["aoai-eastus"],
    )
    state = world.enterprise().providers[AZURE]
    assert (state.status, state.billing_export_connected, state.org_keys) == (
        ProviderStatus.CONNECTED,
        True,
        [f"azure:org:{TENANT}"],
    )
    assert [e.action for e in world.audit.of(ENTERPRISE_ID)] == [AuditAction.CONNECT]
    assert world.tasks.tasks("usage-sync")


def test_a_rotation_to_the_client_secret_keeps_the_secret_in_secret_manager_only(world: ConnectWorld) -> None:
    world.sources.admit(stored(cost_management=False), identity(billed=False))
    world.sources.admit(stored(client_secret=SecretStr(SECRET)), identity())
    app = _app(world)

    first = _call(app, "POST", CONNECT, {**REQUEST, "cost_management": False})
    rotated = _call(app, "POST", CONNECT, {**REQUEST, "client_secret": SECRET})

    assert (first[0], first[1]["cost_source"]) == (201, "estimated")
    assert (rotated[0], rotated[1]["rotated"], rotated[1]["cost_source"]) == (200, True, "billed")
    assert SECRET not in rotated[2]
    assert SECRET not in repr(world.enterprise()) + repr(world.connections.records) + repr(
        world.audit.of(ENTERPRISE_ID)
    )
    assert world.secrets.states_of(secret_id_for(ENTERPRISE_ID, "azure")) == ["DISABLED", "ENABLED"]
    assert world.disconnect(AZURE).destroyed_versions == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**REQUEST, "tenant_id": "contoso.onmicrosoft.com"}, "invalid_azure_tenant"),
        ({**REQUEST, "client_id": "not-a-guid"}, "invalid_azure_client"),
        (
            {**REQUEST, "accounts": ["/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/a"]},
            "invalid_azure_accounts",
        ),
        ({**REQUEST, "accounts": [ACCOUNT, ACCOUNT.replace(SUB, TENANT)]}, "invalid_azure_accounts"),
        ({**REQUEST, "client_secret": "has spaces in it"}, "malformed_key"),
    ],
    ids=["tenant", "client", "not-an-account", "two-subscriptions", "secret"],
)
def test_a_wrong_request_is_refused_before_any_azure_call_and_nothing_is_stored(
    world: ConnectWorld, body: dict[str, Any], code: str
) -> None:
    status, answer, text = _call(_app(world), "POST", CONNECT, body)
    assert (status, answer["code"]) == (400, code)
    assert "has spaces in it" not in text
    assert world.sources.validations == []
    assert AZURE not in world.enterprise().providers
    assert secret_id_for(ENTERPRISE_ID, "azure") not in world.secrets.secret_ids()


@pytest.mark.parametrize(
    "error",
    [
        ProviderAuthError("AADSTS70021", provider="azure", code="azure_federation_refused", hint="add the credential"),
        ProviderPermissionError("403", provider="azure", code="azure_missing_role", hint="assign the role"),
        ProviderPermissionError("400", provider="azure", code="azure_cost_management_unavailable", hint="estimates"),
        ProviderPermissionError("404", provider="azure", code="azure_account_not_found", hint="check the ids"),
    ],
    ids=lambda e: e.code,
)
def test_azure_refusals_keep_their_code_and_hint_and_nothing_is_stored(world: ConnectWorld, error: Any) -> None:
    world.sources.refuse(stored(), error)
    status, body, _ = _call(_app(world), "POST", CONNECT, REQUEST)
    assert (status, body["code"]) == (400, error.code)
    assert error.hint in body["detail"]
    assert secret_id_for(ENTERPRISE_ID, "azure") not in world.secrets.secret_ids()
    assert [(e.action, e.code) for e in world.audit.of(ENTERPRISE_ID)] == [(AuditAction.VALIDATE_FAILED, error.code)]


def test_federation_that_stops_working_marks_azure_key_failed_and_tells_the_admins_what_to_restore(
    world: ConnectWorld,
) -> None:
    world.sources.admit(stored(), identity())
    assert _call(_app(world), "POST", CONNECT, REQUEST)[0] == 201
    refused = ProviderAuthError("AADSTS70021", provider="azure", code="azure_federation_refused", hint="add it")

    assert world.key_health().record_key_failure(ENTERPRISE_ID, AZURE, refused)

    state = world.enterprise().providers[AZURE]
    assert (state.status, state.last_error) == (ProviderStatus.KEY_FAILED, "azure_federation_refused")
    [mail] = world.mailer.sent
    assert "Azure OpenAI service principal" in mail["Subject"]
    assert "federated credential" in mail.get_content()
