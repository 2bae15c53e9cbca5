"""Connecting providers end to end, over real HTTP.

The ``connect`` and ``api`` functions run under functions-framework against the Firestore emulator, the local Secret
Manager (gRPC), the Cloud Tasks emulator (delivering to a loopback recorder standing in for ``sync_worker``) and the
provider simulator. Tests look at what each backend holds afterwards, not at what the code says it did.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest

from devstack.provider_sim import Faults
from devstack.provider_sim.google_keys import generate_key
from devstack.secret_manager_state import SecretManagerError
from shared.config import Settings
from shared.domain.connections.secret_naming import secret_id_for
from tests.conftest import TEST_PROJECT
from tests.e2e.conftest import ConnectStack
from tests.support.connect_stack import (
    ANTHROPIC_KEY,
    ANTHROPIC_ORG_NAME,
    ANTHROPIC_UNKNOWN,
    OPENAI_KEY,
    OPENAI_KEY_2,
    OPENAI_ORG_ID,
    OPENAI_RESTRICTED,
    OPENAI_REVOKED,
    OPENAI_UNKNOWN,
)
from tests.support.e2e_connect import Tenant, bearer, deliveries_for, make_tenant
from tests.support.google_keys import pem_body
from tests.support.google_sim import BILLING_ACCOUNT
from tests.support.google_sim import DISABLED as GOOGLE_DISABLED
from tests.support.google_sim import NO_BILLING as GOOGLE_NO_BILLING
from tests.support.google_sim import NO_STUDIO as GOOGLE_NO_STUDIO
from tests.support.google_sim import PROJECTS as GOOGLE_PROJECTS
from tests.support.google_sim import READER as GOOGLE_READER
from tests.support.google_sim import TABLE as GOOGLE_TABLE

CONNECT = "/api/v1/enterprise/connect"
TASKS_SERVICE_ACCOUNT = Settings().tasks_service_account


@pytest.fixture
def tenant(request: pytest.FixtureRequest, api_url: str, firestore_db: Any) -> Tenant:
    return make_tenant(request.node.nodeid, api_url, firestore_db)


@pytest.fixture(autouse=True)
def no_faults(connect_stack: ConnectStack) -> Iterator[None]:
    connect_stack.sim.sim.set_faults(Faults())
    yield
    connect_stack.sim.sim.set_faults(Faults())


def _connect(stack: ConnectStack, email: str, provider: str, body: dict[str, Any], *, url: str | None = None) -> Any:
    return httpx.post(f"{url or stack.url}{CONNECT}/{provider}", json=body, headers=bearer(email), timeout=60)


def _versions(stack: ConnectStack, enterprise_id: str, provider: str) -> list[str] | None:
    """States of the secret's versions on the Secret Manager server, oldest first; ``None`` if there is no secret."""
    name = f"projects/{TEST_PROJECT}/secrets/{secret_id_for(enterprise_id, provider)}"
    try:
        _, versions = stack.secrets.state.list_versions(name)
    except SecretManagerError as e:
        if e.status is grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return [v.state.value for v in reversed(versions)]


def _payload(stack: ConnectStack, enterprise_id: str, provider: str, version: int) -> str:
    name = f"projects/{TEST_PROJECT}/secrets/{secret_id_for(enterprise_id, provider)}/versions/{version}"
    return stack.secrets.state.access_version(name)[2].decode()


def _enterprise_doc(db: Any, enterprise_id: str) -> dict[str, Any]:
    return dict(db.collection("enterprises").document(enterprise_id).get().to_dict())


def _private_doc(db: Any, enterprise_id: str) -> dict[str, Any] | None:
    snap = db.collection("enterprises").document(enterprise_id).collection("private").document("providers").get()
    return snap.to_dict() if snap.exists else None


def _claims(authorization: str) -> dict[str, Any]:
    token = authorization.split(" ", 1)[1]
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def _expected_windows(today: date) -> list[tuple[str, str]]:
    """90 days ending today, in windows of 31 days from the oldest: 31 + 31 + 28."""
    start = today - timedelta(days=89)
    cuts = [start, start + timedelta(days=31), start + timedelta(days=62), today + timedelta(days=1)]
    return [(a.isoformat(), b.isoformat()) for a, b in itertools.pairwise(cuts)]


def test_connect_both_providers_rotate_then_disconnect(
    connect_stack: ConnectStack, api_url: str, tenant: Tenant, firestore_db: Any
) -> None:
    eid = tenant.enterprise_id

    openai = _connect(connect_stack, tenant.admin, "openai", {"admin_api_key": OPENAI_KEY, "org_id": OPENAI_ORG_ID})
    anthropic = _connect(connect_stack, tenant.admin, "anthropic", {"admin_api_key": ANTHROPIC_KEY})

    assert (openai.status_code, anthropic.status_code) == (201, 201), (openai.text, anthropic.text)
    body = openai.json()
    assert (body["success"], body["org_id"], body["rotated"]) == (True, OPENAI_ORG_ID, False)
    assert body["status"] == "connected"
    assert "usage.read" in body["permissions"]
    assert body["sync"] == {"status": "started", "backfill_days": 90}
    assert anthropic.json()["org_name"] == ANTHROPIC_ORG_NAME
    uuid.UUID(anthropic.json()["org_id"])  # Anthropic's /v1/organizations/me names the org by UUID
    # The key is in Secret Manager, labelled; Firestore has the public state and, privately, the version name.
    assert _versions(connect_stack, eid, "openai") == ["ENABLED"]
    assert _payload(connect_stack, eid, "openai", 1) == OPENAI_KEY
    secret_name = f"projects/{TEST_PROJECT}/secrets/{secret_id_for(eid, 'openai')}"
    assert connect_stack.secrets.state.get_secret(secret_name).labels["provider"] == "openai"
    stored = _enterprise_doc(firestore_db, eid)["providers"]["openai"]
    assert (stored["status"], stored["key_id"], stored["org_id"]) == ("connected", body["key_id"], OPENAI_ORG_ID)
    private = _private_doc(firestore_db, eid)
    assert private is not None
    assert private["openai"]["secret_version"] == f"{secret_name}/versions/1"
    seen_by_members = httpx.get(f"{api_url}/api/v1/enterprise", headers=bearer(tenant.viewer))
    assert seen_by_members.json()["providers"]["openai"]["key_id"] == body["key_id"]
    assert "projects/" not in seen_by_members.text

    # The history backfill reached sync_worker through Cloud Tasks: 3 windows per provider, named, authenticated.
    delivered = connect_stack.recorder.wait_for(lambda ds: len(deliveries_for(ds, eid)) >= 6)
    mine = deliveries_for(delivered, eid)
    today = datetime.now(UTC).date()
    for provider in ("openai", "anthropic"):
        windows = sorted((d.payload["start"], d.payload["end"]) for d in mine if d.payload["providers"] == [provider])
        assert windows == _expected_windows(today)
    assert all(d.path == "/sync_worker" and d.payload["reason"] == "backfill" for d in mine)
    assert all(_claims(d.headers["authorization"])["email"] == TASKS_SERVICE_ACCOUNT for d in mine)
    assert {d.task_id for d in mine} == {
        f"backfill-{eid}-{d.payload['providers'][0]}-{d.payload['start'].replace('-', '')}-"
        f"{d.payload['end'].replace('-', '')}"
        for d in mine
    }

    rotated = _connect(connect_stack, tenant.admin, "openai", {"admin_api_key": OPENAI_KEY_2})

    assert rotated.status_code == 200, rotated.text
    assert (rotated.json()["rotated"], rotated.json()["org_id"]) == (True, OPENAI_ORG_ID)
    assert rotated.json()["key_id"] != body["key_id"]
    assert _versions(connect_stack, eid, "openai") == ["DISABLED", "ENABLED"]
    time.sleep(1.0)  # a rotation enqueues nothing: give a stray task time to show up
    assert len(deliveries_for(connect_stack.recorder.snapshot(), eid)) == 6

    snapshot = firestore_db.collection("enterprises").document(eid).collection("usage_snapshots").document("2026-11-01")
    snapshot.set({"date": "2026-11-01", "by_provider": {"openai": {"cost_usd": "12.50"}}})
    gone = httpx.delete(f"{connect_stack.url}{CONNECT}/openai", headers=bearer(tenant.admin))

    assert (gone.status_code, gone.json()["destroyed_versions"]) == (200, 2)
    assert _versions(connect_stack, eid, "openai") == ["DESTROYED", "DESTROYED"]
    providers = _enterprise_doc(firestore_db, eid)["providers"]
    assert (providers["openai"]["status"], providers["openai"]["key_id"]) == ("disconnected", None)
    assert providers["anthropic"]["status"] == "connected"
    assert "openai" not in (_private_doc(firestore_db, eid) or {})
    assert snapshot.get().exists  # usage history is kept

    log = httpx.get(f"{api_url}/api/v1/enterprise/audit-log", headers=bearer(tenant.admin)).json()
    assert [(e["action"], e["provider"], e["secret_version"]) for e in log["entries"]] == [
        ("disconnect", "openai", 2),
        ("rotate", "openai", 2),
        ("connect", "anthropic", 1),
        ("connect", "openai", 1),
    ]
    assert all(e["actor"]["email"] == tenant.admin for e in log["entries"])


@pytest.mark.parametrize(
    ("provider", "key", "fault", "status", "code"),
    [
        ("openai", "sk-admin-$$not-a-key$$", None, 400, "malformed_key"),
        ("openai", "sk-proj-E2E-project-key-000000000000", None, 400, "not_an_admin_key"),
        ("anthropic", "sk-ant-api03-E2E-workspace-key-0000000", None, 400, "not_an_admin_key"),
        ("anthropic", OPENAI_KEY, None, 400, "malformed_key"),
        ("openai", OPENAI_RESTRICTED, None, 400, "provider_key_missing_scopes"),
        ("openai", OPENAI_REVOKED, None, 400, "provider_key_invalid"),
        ("openai", OPENAI_UNKNOWN, None, 400, "provider_key_invalid"),
        ("anthropic", ANTHROPIC_UNKNOWN, None, 400, "provider_key_invalid"),
        ("openai", OPENAI_KEY, Faults(error_every_n=1, error_status=503), 503, "provider_unavailable"),
        ("anthropic", ANTHROPIC_KEY, Faults(error_every_n=1, error_status=529), 503, "provider_unavailable"),
        ("openai", OPENAI_KEY, Faults(rate_limit_every_n=1, retry_after_s=30), 503, "provider_unavailable"),
        ("anthropic", ANTHROPIC_KEY, "unreachable", 503, "provider_unavailable"),
    ],
    ids=[
        "malformed",
        "openai-project-key",
        "anthropic-workspace-key",
        "wrong-provider",
        "missing-scopes",
        "revoked",
        "openai-unknown",
        "anthropic-unknown",
        "openai-503",
        "anthropic-529",
        "rate-limited",
        "unreachable",
    ],
)
def test_a_refused_connect_answers_its_code_and_stores_nothing(
    connect_stack: ConnectStack,
    tenant: Tenant,
    firestore_db: Any,
    provider: str,
    key: str,
    fault: Faults | str | None,
    status: int,
    code: str,
) -> None:
    if key == OPENAI_REVOKED:
        connect_stack.sim.sim.revoke_key(OPENAI_REVOKED)
    if isinstance(fault, Faults):
        connect_stack.sim.sim.set_faults(fault)
    url = connect_stack.unreachable_url if fault == "unreachable" else None

    response = _connect(connect_stack, tenant.admin, provider, {"admin_api_key": key}, url=url)

    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"
    if status == 503:
        assert int(response.headers["retry-after"]) > 0
    assert key not in response.text
    assert _versions(connect_stack, tenant.enterprise_id, provider) is None
    assert _enterprise_doc(firestore_db, tenant.enterprise_id)["providers"] == {}
    assert _private_doc(firestore_db, tenant.enterprise_id) is None


def test_a_failed_rotation_leaves_the_connected_key_working(
    connect_stack: ConnectStack, tenant: Tenant, firestore_db: Any
) -> None:
    eid = tenant.enterprise_id
    assert _connect(connect_stack, tenant.admin, "anthropic", {"admin_api_key": ANTHROPIC_KEY}).status_code == 201
    before = _enterprise_doc(firestore_db, eid)["providers"]

    unknown = _connect(connect_stack, tenant.admin, "anthropic", {"admin_api_key": ANTHROPIC_UNKNOWN})
    unreachable = _connect(
        connect_stack, tenant.admin, "anthropic", {"admin_api_key": ANTHROPIC_KEY}, url=connect_stack.unreachable_url
    )

    assert (unknown.status_code, unreachable.status_code) == (400, 503)
    assert _versions(connect_stack, eid, "anthropic") == ["ENABLED"]
    assert _payload(connect_stack, eid, "anthropic", 1) == ANTHROPIC_KEY
    assert _enterprise_doc(firestore_db, eid)["providers"] == before


@pytest.mark.parametrize(("who", "status", "code"), [("viewer", 403, "admin_required"), ("outsider", 404, None)])
def test_viewers_and_outsiders_cannot_connect_rotate_disconnect_or_read_the_audit_log(
    connect_stack: ConnectStack, api_url: str, tenant: Tenant, firestore_db: Any, who: str, status: int, code: Any
) -> None:
    eid = tenant.enterprise_id
    assert _connect(connect_stack, tenant.admin, "openai", {"admin_api_key": OPENAI_KEY}).status_code == 201
    before = (_enterprise_doc(firestore_db, eid)["providers"], _private_doc(firestore_db, eid))
    email = tenant.viewer if who == "viewer" else tenant.outsider
    selected = {**bearer(email), "X-Enterprise-Id": eid}

    attempts = [
        httpx.post(f"{connect_stack.url}{CONNECT}/openai", json={"admin_api_key": OPENAI_KEY_2}, headers=selected),
        httpx.post(f"{connect_stack.url}{CONNECT}/anthropic", json={"admin_api_key": ANTHROPIC_KEY}, headers=selected),
        httpx.delete(f"{connect_stack.url}{CONNECT}/openai", headers=selected),
        httpx.get(f"{api_url}/api/v1/enterprise/audit-log", headers=selected),
    ]

    assert [r.status_code for r in attempts] == [status] * 4
    assert all(r.json()["code"] == (code or "enterprise_not_found") for r in attempts)
    assert all("entries" not in r.json() for r in attempts)
    assert _versions(connect_stack, eid, "openai") == ["ENABLED"]
    assert _versions(connect_stack, eid, "anthropic") is None
    assert (_enterprise_doc(firestore_db, eid)["providers"], _private_doc(firestore_db, eid)) == before


def test_the_audit_log_pages_newest_first(connect_stack: ConnectStack, api_url: str, tenant: Tenant) -> None:
    for body in ({"admin_api_key": OPENAI_KEY}, {"admin_api_key": "sk-proj-E2E-project-000000000"}):
        _connect(connect_stack, tenant.admin, "openai", body)
    _connect(connect_stack, tenant.admin, "openai", {"admin_api_key": OPENAI_KEY_2})

    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        page = httpx.get(f"{api_url}/api/v1/enterprise/audit-log", params=params, headers=bearer(tenant.admin)).json()
        entries += page["entries"]
        pages += 1
        if page["next_page_token"] is None:
            break
        params = {"limit": 2, "page_token": page["next_page_token"]}

    assert [(e["action"], e["code"]) for e in entries] == [
        ("rotate", None),
        ("validate_failed", "not_an_admin_key"),
        ("connect", None),
    ]
    assert pages == 2
    times = [datetime.fromisoformat(e["at"]) for e in entries]
    assert times == sorted(times, reverse=True)


# --- Google ---------------------------------------------------------------------------------------------------


def _google_body(
    key: dict[str, Any], *, table: str | None = GOOGLE_TABLE, projects: list[str] = GOOGLE_PROJECTS
) -> Any:
    body: dict[str, Any] = {"service_account_key": key, "project_ids": projects}
    if table is not None:
        body["billing_export_table"] = table
    return body


def test_google_connects_with_a_service_account_key_rotates_and_disconnects(
    connect_stack: ConnectStack, api_url: str, tenant: Tenant, firestore_db: Any
) -> None:
    eid, sim = tenant.enterprise_id, connect_stack.sim.sim
    key = sim.google.key(BILLING_ACCOUNT, GOOGLE_READER)

    first = _connect(connect_stack, tenant.admin, "google", _google_body(key))

    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["provider"], body["rotated"], body["cost_source"], body["billing_export_connected"]) == (
        "google",
        False,
        "billed",
        True,
    )
    assert (body["project_ids"], body["service_account_email"]) == (GOOGLE_PROJECTS, key["client_email"])
    assert body["sync"] == {"status": "started", "backfill_days": 90}
    # Secret Manager holds the key (canonical: no token_uri), the projects and the table; Firestore only facts.
    assert _versions(connect_stack, eid, "google") == ["ENABLED"]
    stored = json.loads(_payload(connect_stack, eid, "google", 1))
    assert stored["service_account_key"]["private_key"] == key["private_key"]
    assert "token_uri" not in stored["service_account_key"]
    assert (stored["project_ids"], stored["billing_export_table"]) == (GOOGLE_PROJECTS, GOOGLE_TABLE)
    state = _enterprise_doc(firestore_db, eid)["providers"]["google"]
    assert (state["status"], state["project_ids"], state["billing_export_connected"]) == (
        "connected",
        GOOGLE_PROJECTS,
        True,
    )
    assert pem_body(key) not in repr(_enterprise_doc(firestore_db, eid)) + repr(_private_doc(firestore_db, eid))
    seen = httpx.get(f"{api_url}/api/v1/enterprise", headers=bearer(tenant.viewer))
    assert seen.json()["providers"]["google"]["service_account_email"] == key["client_email"]
    delivered = connect_stack.recorder.wait_for(lambda ds: len(deliveries_for(ds, eid)) >= 3)
    windows = sorted((d.payload["start"], d.payload["end"]) for d in deliveries_for(delivered, eid))
    assert windows == _expected_windows(datetime.now(UTC).date())

    new_key = sim.google.new_key(BILLING_ACCOUNT, GOOGLE_READER)
    rotated = _connect(connect_stack, tenant.admin, "google", _google_body(json.dumps(new_key), table=None))  # type: ignore[arg-type]

    assert rotated.status_code == 200, rotated.text
    assert (rotated.json()["rotated"], rotated.json()["cost_source"]) == (True, "estimated")
    assert _versions(connect_stack, eid, "google") == ["DISABLED", "ENABLED"]
    assert _enterprise_doc(firestore_db, eid)["providers"]["google"]["billing_export_connected"] is False

    gone = httpx.delete(f"{connect_stack.url}{CONNECT}/google", headers=bearer(tenant.admin))

    assert (gone.status_code, gone.json()["destroyed_versions"]) == (200, 2)
    assert _versions(connect_stack, eid, "google") == ["DESTROYED", "DESTROYED"]
    assert _enterprise_doc(firestore_db, eid)["providers"]["google"]["status"] == "disconnected"
    log = httpx.get(f"{api_url}/api/v1/enterprise/audit-log", headers=bearer(tenant.admin)).json()
    assert [(e["action"], e["provider"]) for e in log["entries"]] == [
        ("disconnect", "google"),
        ("rotate", "google"),
        ("connect", "google"),
    ]


def _google_case(sim: Any, case: str) -> Any:
    reader = sim.google.key(BILLING_ACCOUNT, GOOGLE_READER)
    forged = reader | {"private_key": generate_key("x", "acme-usage", reader["client_email"]).info["private_key"]}
    return {
        "malformed": _google_body("{" + reader["private_key"]),  # type: ignore[arg-type]
        "user-credentials": _google_body({"type": "authorized_user", "client_id": "1", "refresh_token": "r"}),
        "gemini-api-key": _google_body("AIzaSyE2E-not-a-service-account-key-00"),  # type: ignore[arg-type]
        "bad-project": _google_body(reader, projects=["Not_A_Project"]),
        "bad-table": _google_body(reader, table="billing.`x` --"),
        "forged-key": _google_body(forged),
        "disabled-account": _google_body(sim.google.key(BILLING_ACCOUNT, GOOGLE_DISABLED)),
        "project-not-readable": _google_body(sim.google.key(BILLING_ACCOUNT, GOOGLE_NO_STUDIO)),
        "billing-not-readable": _google_body(sim.google.key(BILLING_ACCOUNT, GOOGLE_NO_BILLING)),
        "wrong-table": _google_body(reader, table="acme-finops.billing.gcp_billing_export_v1_NOPE"),
        "unknown-project": _google_body(reader, projects=[*GOOGLE_PROJECTS, "acme-elsewhere"]),
    }.get(case, _google_body(reader))


@pytest.mark.parametrize(
    ("case", "fault", "status", "code"),
    [
        ("malformed", None, 400, "malformed_key"),
        ("user-credentials", None, 400, "not_a_service_account_key"),
        ("gemini-api-key", None, 400, "not_a_service_account_key"),
        ("bad-project", None, 400, "invalid_project_ids"),
        ("bad-table", None, 400, "invalid_billing_export_table"),
        ("forged-key", None, 400, "provider_key_invalid"),
        ("disabled-account", None, 400, "provider_key_invalid"),
        ("project-not-readable", None, 400, "provider_key_missing_scopes"),
        ("billing-not-readable", None, 400, "billing_export_unreadable"),
        ("wrong-table", None, 400, "billing_export_not_found"),
        ("unknown-project", None, 400, "google_project_not_found"),
        ("monitoring-disabled", Faults(google_disabled_api="monitoring"), 400, "google_api_disabled"),
        ("bigquery-disabled", Faults(google_disabled_api="bigquery"), 400, "google_api_disabled"),
        ("google-503", Faults(provider="google", error_every_n=1, error_status=503), 503, "provider_unavailable"),
        ("google-429", Faults(provider="google", rate_limit_every_n=1, retry_after_s=30), 503, "provider_unavailable"),
        ("unreachable", "unreachable", 503, "provider_unavailable"),
    ],
)
def test_a_refused_google_connect_answers_its_code_and_stores_nothing(
    connect_stack: ConnectStack,
    tenant: Tenant,
    firestore_db: Any,
    case: str,
    fault: Faults | str | None,
    status: int,
    code: str,
) -> None:
    sim = connect_stack.sim.sim
    body = _google_case(sim, case)
    if isinstance(fault, Faults):
        sim.set_faults(fault)
    url = connect_stack.unreachable_url if fault == "unreachable" else None

    response = _connect(connect_stack, tenant.admin, "google", body, url=url)

    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"
    hints = {
        "provider_key_missing_scopes": "roles/monitoring.viewer on project acme-studio",  # which project, which role
        "google_project_not_found": "acme-elsewhere",
        "google_api_disabled": "Cloud Monitoring" if case == "monitoring-disabled" else "BigQuery",
        "billing_export_not_found": "check the table name",
        "billing_export_unreadable": "roles/bigquery.dataViewer",
    }
    assert hints.get(code, "") in response.json()["detail"]
    assert pem_body(sim.google.key(BILLING_ACCOUNT, GOOGLE_READER)) not in response.text
    assert _versions(connect_stack, tenant.enterprise_id, "google") is None
    assert _enterprise_doc(firestore_db, tenant.enterprise_id)["providers"] == {}
    assert _private_doc(firestore_db, tenant.enterprise_id) is None
