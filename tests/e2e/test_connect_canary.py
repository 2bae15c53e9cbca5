"""Canary: recognisable keys go through every connect path, then every place they must not be is searched.

Searched: every Firestore document (all collections, recursively), every log line written meanwhile (this process,
the function processes, the tasks emulator), every HTTP response (bodies and headers), every audit entry, every task
delivered to ``sync_worker``, the names and labels of the stored secrets, and the provider simulator's request log.
Positive controls prove the keys did travel: Secret Manager holds them and the simulator was called with them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LOG_DIR, TEST_PROJECT
from tests.e2e.conftest import ConnectStack
from tests.support.azure_sim import azure_tenant
from tests.support.bedrock_sim import bedrock_account
from tests.support.connect_stack import (
    ANTHROPIC_CANARY,
    CANARY_MARK,
    CANARY_REFUSED,
    GOOGLE_CANARY_ACCOUNT,
    OPENAI_CANARY,
    OPENAI_CANARY_2,
)
from tests.support.e2e_connect import Tenant, bearer, deliveries_for, make_tenant
from tests.support.google_sim import BILLING_ACCOUNT, PROJECTS, TABLE

CONNECT = "/api/v1/enterprise/connect"


def _documents(collections: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every document under ``collections``, including those below documents that do not exist themselves."""
    for collection in collections:
        for ref in collection.list_documents():
            snap = ref.get()
            if snap.exists:
                yield ref.path, snap.to_dict()
            yield from _documents(ref.collections())


def _log_files() -> list[Path]:
    return sorted(LOG_DIR.rglob("*.log"))


def _response_text(response: httpx.Response) -> str:
    return f"{response.status_code} {dict(response.headers)} {response.text}"


def _places(
    stack: ConnectStack,
    db: Any,
    responses: list[httpx.Response],
    delivered: list[Any],
    secrets: list[Any],
    caplog: pytest.LogCaptureFixture,
    offsets: dict[Path, int],
) -> dict[str, str]:
    """Every place a key must not be, by name: documents, responses, tasks, secret names and labels, logs."""
    places: dict[str, str] = {}
    for doc_path, doc in _documents(db.collections()):
        places[f"firestore:{doc_path}"] = repr(doc)
    for i, response in enumerate(responses):
        places[f"response:{i}"] = _response_text(response)
    for i, delivery in enumerate(delivered):
        places[f"task:{i}"] = f"{delivery.headers} {delivery.body.decode()}"
    for secret in secrets:
        places[f"secret:{secret.name}"] = f"{secret.name} {secret.labels}"
    places["simulator-requests"] = repr([r.model_dump() for r in stack.sim.sim.requests])
    places["caplog"] = caplog.text
    for path in _log_files():
        with path.open("rb") as log:
            log.seek(offsets.get(path, 0))
            places[f"log:{path.relative_to(LOG_DIR)}"] = log.read().decode(errors="replace")
    return places


def test_the_keys_appear_nowhere_but_in_secret_manager(
    connect_stack: ConnectStack,
    api_url: str,
    firestore_db: Any,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    tenant: Tenant = make_tenant(request.node.nodeid, api_url, firestore_db)
    eid = tenant.enterprise_id
    offsets = {path: path.stat().st_size for path in _log_files()}
    admin = bearer(tenant.admin)
    url = connect_stack.url
    responses = [
        httpx.post(f"{url}{CONNECT}/openai", json={"admin_api_key": OPENAI_CANARY}, headers=admin, timeout=60),
        httpx.post(f"{url}{CONNECT}/anthropic", json={"admin_api_key": ANTHROPIC_CANARY}, headers=admin, timeout=60),
        httpx.post(f"{url}{CONNECT}/openai", json={"admin_api_key": CANARY_REFUSED[0]}, headers=admin),
        httpx.post(f"{url}{CONNECT}/openai", json={"admin_api_key": CANARY_REFUSED[1]}, headers=admin),
        httpx.post(f"{url}{CONNECT}/anthropic", json={"admin_api_key": CANARY_REFUSED[2]}, headers=admin),
        httpx.post(f"{url}{CONNECT}/openai", json={"admin_api_key": OPENAI_CANARY, "colour": 1}, headers=admin),
        httpx.post(f"{url}{CONNECT}/openai", json={"admin_api_key": 12345, "org_id": OPENAI_CANARY}, headers=admin),
        httpx.post(f"{url}{CONNECT}/openai", content=f'{{"admin_api_key": "{OPENAI_CANARY}"', headers=admin),
        httpx.post(
            f"{connect_stack.unreachable_url}{CONNECT}/openai",
            json={"admin_api_key": OPENAI_CANARY_2},
            headers=admin,
            timeout=60,
        ),
        httpx.post(f"{url}{CONNECT}/openai", json={"admin_api_key": OPENAI_CANARY_2}, headers=bearer(tenant.viewer)),
        httpx.post(f"{url}{CONNECT}/openai", json={"admin_api_key": OPENAI_CANARY_2}, headers=admin, timeout=60),
        httpx.get(f"{api_url}/api/v1/enterprise", headers=admin),
        httpx.get(f"{api_url}/api/v1/enterprise/audit-log", headers=admin),
        httpx.delete(f"{url}{CONNECT}/anthropic", headers=admin),
    ]
    assert [r.status_code for r in responses] == [201, 201, 400, 400, 400, 400, 400, 400, 503, 403, 200, 200, 200, 200]
    delivered = connect_stack.recorder.wait_for(lambda ds: len(deliveries_for(ds, eid)) >= 6)

    # Positive controls: the keys were stored and were sent to the providers.
    state = connect_stack.secrets.state
    secrets = [s for s in state._secrets.values() if eid in s.name]  # the in-memory server's own records
    stored = {v.payload.decode() for s in secrets for v in s.versions if v.payload is not None}
    assert stored == {OPENAI_CANARY, OPENAI_CANARY_2}  # Anthropic's was destroyed on disconnect
    fingerprints = {r.key_fingerprint for r in connect_stack.sim.sim.requests}
    assert hashlib.sha256(OPENAI_CANARY.encode()).hexdigest()[:8] in fingerprints

    places = _places(connect_stack, firestore_db, responses, delivered, secrets, caplog, offsets)
    new_log_lines = {LOG_DIR / k.removeprefix("log:"): v for k, v in places.items() if k.startswith("log:")}
    assert any(f"firestore:enterprises/{eid}/audit_log/" in p for p in places)
    assert f"firestore:enterprises/{eid}/private/providers" in places
    assert "connect/openai" in new_log_lines[LOG_DIR / "function-connect.log"]  # the scan reads the live log

    leaks = sorted(name for name, text in places.items() if CANARY_MARK in text)
    assert leaks == []
    # Not even redacted: no key reached a log call of the connect function in the first place.
    connect_logs = [text for path, text in new_log_lines.items() if path.name == "function-connect.log"]
    assert not [text for text in connect_logs if "[REDACTED]" in text]
    assert TEST_PROJECT in places[f"firestore:enterprises/{eid}/private/providers"]  # version names, not keys


def test_a_google_private_key_appears_nowhere_but_in_secret_manager(
    connect_stack: ConnectStack,
    api_url: str,
    firestore_db: Any,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    tenant: Tenant = make_tenant(request.node.nodeid, api_url, firestore_db)
    eid, sim = tenant.enterprise_id, connect_stack.sim.sim
    key = sim.google.key(BILLING_ACCOUNT, GOOGLE_CANARY_ACCOUNT)
    rotated_key = sim.google.new_key(BILLING_ACCOUNT, GOOGLE_CANARY_ACCOUNT)
    offsets = {path: path.stat().st_size for path in _log_files()}
    admin, url = bearer(tenant.admin), connect_stack.url

    def connect(body: Any, *, at: str = url, who: dict[str, str] = admin) -> httpx.Response:
        return httpx.post(f"{at}{CONNECT}/google", json=body, headers=who, timeout=60)

    good = {"service_account_key": key, "project_ids": PROJECTS, "billing_export_table": TABLE}
    responses = [
        connect(good),
        connect({**good, "service_account_key": key | {"type": "authorized_user"}}),
        connect({**good, "service_account_key": json.dumps(key)[:-40]}),  # cut short: not JSON
        connect({**good, "service_account_key": key | {"client_email": "x@example.com"}}),
        connect({**good, "project_ids": ["acme-elsewhere"]}),  # Google refuses the project
        connect({**good, "billing_export_table": "acme-finops.billing.nope"}),  # the table is unreadable
        connect({**good, "colour": 1}),
        connect({**good, "service_account_key": [key]}),
        connect(good, at=connect_stack.unreachable_url),
        connect(good, who=bearer(tenant.viewer)),
        connect({**good, "service_account_key": rotated_key}),
        httpx.get(f"{api_url}/api/v1/enterprise", headers=admin),
        httpx.get(f"{api_url}/api/v1/enterprise/audit-log", headers=admin),
    ]
    assert [r.status_code for r in responses] == [201, 400, 400, 400, 400, 400, 400, 400, 503, 403, 200, 200, 200]
    delivered = connect_stack.recorder.wait_for(lambda ds: len(deliveries_for(ds, eid)) >= 3)

    # Positive controls: both keys were stored, and the simulator verified signatures made with them.
    state = connect_stack.secrets.state
    secrets = [s for s in state._secrets.values() if eid in s.name]
    stored = [json.loads(v.payload) for s in secrets for v in s.versions if v.payload is not None]
    assert [p["service_account_key"]["private_key"] for p in stored] == [key["private_key"], rotated_key["private_key"]]
    fingerprints = {r.key_fingerprint for r in sim.requests if r.path == "/token" and r.status == 200}
    assert hashlib.sha256(key["private_key_id"].encode()).hexdigest()[:8] in fingerprints

    places = _places(connect_stack, firestore_db, responses, delivered, secrets, caplog, offsets)
    body_lines = [line for k in (key, rotated_key) for line in k["private_key"].splitlines()[1:-1]]
    leaks = sorted(name for name, text in places.items() if any(line in text for line in body_lines))
    assert leaks == []
    assert not [name for name, text in places.items() if "ya29." in text]  # nor an access token minted with them
    assert "connect/google" in places["log:function-connect.log"]  # the scan reads the live log
    assert "[REDACTED]" not in places["log:function-connect.log"]  # not even redacted: never logged at all


def test_an_aws_secret_key_and_sessions_appear_nowhere_but_in_secret_manager(
    connect_stack: ConnectStack,
    api_url: str,
    firestore_db: Any,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """Bedrock: a role connection (the session STS issues must not leak either), then the access-key fallback with
    a canary secret, refused attempts around them."""
    tenant: Tenant = make_tenant(request.node.nodeid, api_url, firestore_db)
    eid, sim = tenant.enterprise_id, connect_stack.sim.sim
    account = bedrock_account(eid, "777788889999", history_start=datetime.now(UTC).date() - timedelta(days=20))
    sim.add_bedrock_account(account)
    canary_key_id, canary_secret = "AKIACANARYE2E0000001", f"{CANARY_MARK}/" + "k" * 29
    account.access_keys[canary_key_id] = canary_secret
    sim.add_bedrock_account(account)
    offsets = {path: path.stat().st_size for path in _log_files()}
    admin, url = bearer(tenant.admin), connect_stack.url

    def connect(body: Any, *, at: str = url, who: dict[str, str] = admin) -> httpx.Response:
        return httpx.post(f"{at}{CONNECT}/bedrock", json=body, headers=who, timeout=60)

    role = {"role_arn": account.role_arn, "regions": ["us-east-1"]}
    keys = {"access_key_id": canary_key_id, "secret_access_key": canary_secret, "regions": ["us-east-1"]}
    setup = httpx.get(f"{url}{CONNECT}/bedrock/setup", headers=admin)
    responses = [
        setup,
        connect(role),
        connect({**role, "external_id": "usage-tracking-someone-else"}),
        connect({**role, "role_arn": "arn:aws:iam::777788889999:role/not-this-one"}),
        connect({**keys, "secret_access_key": canary_secret[:-1]}),  # malformed
        connect({**keys, "role_arn": account.role_arn}),  # both
        connect(keys, at=connect_stack.unreachable_url),
        connect(keys, who=bearer(tenant.viewer)),
        connect(keys),
        httpx.get(f"{api_url}/api/v1/enterprise", headers=admin),
        httpx.get(f"{api_url}/api/v1/enterprise/audit-log", headers=admin),
    ]
    assert [r.status_code for r in responses] == [200, 201, 400, 400, 400, 400, 503, 403, 200, 200, 200]
    assert setup.json()["external_id"] == account.external_id
    assert [responses[i].json()["code"] for i in (2, 3, 4, 5)] == [
        "aws_external_id_mismatch",
        "aws_role_not_assumable",
        "malformed_key",
        "invalid_aws_credentials",
    ]
    assert responses[1].json()["org_id"] == "777788889999"
    delivered = connect_stack.recorder.wait_for(lambda ds: len(deliveries_for(ds, eid)) >= 3)

    # Positive control: the canary secret was stored (and the simulator verified a signature made with it: 200).
    state = connect_stack.secrets.state
    secrets = [s for s in state._secrets.values() if eid in s.name]
    stored = [json.loads(v.payload) for s in secrets for v in s.versions if v.payload is not None]
    assert stored[-1]["secret_access_key"] == canary_secret

    places = _places(connect_stack, firestore_db, responses, delivered, secrets, caplog, offsets)
    assert sorted(name for name, text in places.items() if CANARY_MARK in text) == []
    assert not [name for name, text in places.items() if "FwoGZXIvYXdzE" in text]  # no STS session token either
    assert "connect/bedrock" in places["log:function-connect.log"]  # the scan reads the live log
    assert "[REDACTED]" not in places["log:function-connect.log"]


def test_an_azure_client_secret_and_arm_tokens_appear_nowhere_but_in_secret_manager(
    connect_stack: ConnectStack,
    api_url: str,
    firestore_db: Any,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """Azure OpenAI: a federated connection (the ARM token Entra ID issues must not leak either), then the
    client-secret fallback with a canary secret, refused attempts around them."""
    tenant: Tenant = make_tenant(request.node.nodeid, api_url, firestore_db)
    eid, sim = tenant.enterprise_id, connect_stack.sim.sim
    canary_secret = f"{CANARY_MARK}~azure-client-secret"
    azure = azure_tenant(
        eid, history_start=datetime.now(UTC).date() - timedelta(days=20), client_secrets=frozenset({canary_secret})
    )
    sim.add_azure_tenant(azure)
    offsets = {path: path.stat().st_size for path in _log_files()}
    admin, url = bearer(tenant.admin), connect_stack.url

    def connect(body: Any, *, at: str = url, who: dict[str, str] = admin) -> httpx.Response:
        return httpx.post(f"{at}{CONNECT}/azure", json=body, headers=who, timeout=60)

    app = {
        "tenant_id": azure.tenant_id,
        "client_id": azure.client_id,
        "accounts": [azure.resource_id(a) for a in azure.accounts],
    }
    secret = {**app, "client_secret": canary_secret}
    setup = httpx.get(f"{url}{CONNECT}/azure/setup", headers=admin)
    responses = [
        setup,
        connect(app),
        connect({**secret, "client_secret": canary_secret + "x"}),  # wrong
        connect({**secret, "client_secret": canary_secret + " x"}),  # malformed
        connect({**secret, "accounts": [app["accounts"][0] + "-gone"]}),
        connect(secret, at=connect_stack.unreachable_url),
        connect(secret, who=bearer(tenant.viewer)),
        connect(secret),
        httpx.get(f"{api_url}/api/v1/enterprise", headers=admin),
        httpx.get(f"{api_url}/api/v1/enterprise/audit-log", headers=admin),
    ]
    assert [r.status_code for r in responses] == [200, 201, 400, 400, 400, 503, 403, 200, 200, 200]
    assert setup.json()["federated_credentials"][0]["audiences"] == [azure.external_id]
    assert [responses[i].json()["code"] for i in (2, 3, 4)] == [
        "provider_key_invalid",
        "malformed_key",
        "azure_account_not_found",
    ]
    assert responses[1].json()["org_id"] == azure.tenant_id
    delivered = connect_stack.recorder.wait_for(lambda ds: len(deliveries_for(ds, eid)) >= 2)

    # Positive control: the canary secret was stored (and Entra ID in the simulator accepted it: 200).
    state = connect_stack.secrets.state
    secrets = [s for s in state._secrets.values() if eid in s.name]
    stored = [json.loads(v.payload) for s in secrets for v in s.versions if v.payload is not None]
    assert stored[-1]["client_secret"] == canary_secret

    places = _places(connect_stack, firestore_db, responses, delivered, secrets, caplog, offsets)
    assert sorted(name for name, text in places.items() if CANARY_MARK in text) == []
    assert not [name for name, text in places.items() if "eyJ0eXAiOiJKV1Qi" in text]  # no ARM token either
    assert "connect/azure" in places["log:function-connect.log"]  # the scan reads the live log
    assert "[REDACTED]" not in places["log:function-connect.log"]
