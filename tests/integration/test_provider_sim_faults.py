"""The provider simulator's auth errors, validation errors, fault knobs, request log and control API."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import pytest

from devstack.provider_sim import Faults, RunningSimulator
from tests.support.provider_sim import (
    ANTHROPIC_ADMIN,
    ANTHROPIC_API,
    ANTHROPIC_VERSION,
    OPENAI_ADMIN,
    OPENAI_PROJECT,
    MovableClock,
    body,
    clients,
    epoch,
    rfc3339,
    running_simulator,
)

NOW = datetime(2026, 9, 15, 13, 30, tzinfo=UTC)
COMPLETIONS = "/v1/organization/usage/completions"
COSTS = "/v1/organization/costs"
MESSAGES = "/v1/organizations/usage_report/messages"
COST_REPORT = "/v1/organizations/cost_report"
SEP_1 = date(2026, 9, 1)
OAI_WINDOW = {"start_time": epoch(SEP_1), "end_time": epoch(date(2026, 9, 4))}
ANT_WINDOW = {"starting_at": rfc3339(SEP_1), "ending_at": rfc3339(date(2026, 9, 4))}
MISSING_USAGE_SCOPE = (
    "You have insufficient permissions for this operation. Missing scopes: api.usage.read. Check that you have the "
    "correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a "
    "restricted API key, that it has the necessary scopes."
)


@pytest.fixture(scope="module")
def shared() -> Iterator[RunningSimulator]:
    """A server for the tests that change nothing (no faults, no revocations)."""
    with running_simulator(MovableClock(NOW)) as running:
        yield running


@pytest.fixture
def oai(shared: RunningSimulator) -> Iterator[httpx.Client]:
    with clients(shared) as (oai, _ant):
        yield oai


@pytest.fixture
def ant(shared: RunningSimulator) -> Iterator[httpx.Client]:
    with clients(shared) as (_oai, ant):
        yield ant


@pytest.fixture
def running() -> Iterator[RunningSimulator]:
    """A server of its own, for a test that sets faults, revokes keys or reads the request log."""
    with running_simulator(MovableClock(NOW)) as running:
        yield running


@pytest.fixture
def own(running: RunningSimulator) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with clients(running) as pair:
        yield pair


def test_openai_non_admin_and_unknown_keys_get_the_documented_errors(shared: RunningSimulator) -> None:
    def call(key: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(shared.openai_base_url + COMPLETIONS, params=OAI_WINDOW, headers=headers)

    project, unknown, missing = call(OPENAI_PROJECT), call("sk-admin-not-a-real-key-000"), call(None)

    assert project.status_code == 403
    assert project.json() == {
        "error": {"message": MISSING_USAGE_SCOPE, "type": "invalid_request_error", "param": None, "code": None}
    }
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_api_key"
    assert missing.status_code == 401
    assert "sk-admin-not-a-real-key" not in unknown.text


def test_anthropic_wrong_or_workspace_key_gets_authentication_error_with_request_id(shared: RunningSimulator) -> None:
    def call(key: str, version: str | None = ANTHROPIC_VERSION) -> httpx.Response:
        headers = {"x-api-key": key} | ({"anthropic-version": version} if version else {})
        return httpx.get(shared.anthropic_base_url + MESSAGES, params=ANT_WINDOW, headers=headers)

    for response in (call("sk-ant-admin01-wrong-key-0000"), call(ANTHROPIC_API)):
        assert response.status_code == 401
        assert response.json() == {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
            "request_id": response.headers["request-id"],
        }
        assert response.headers["request-id"].startswith("req_")
    no_version = call(ANTHROPIC_ADMIN, version=None)
    assert no_version.status_code == 400
    assert no_version.json()["error"]["type"] == "invalid_request_error"
    assert call(ANTHROPIC_ADMIN).headers["request-id"].startswith("req_")


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        (COMPLETIONS, {}, 400),  # start_time is required
        (COMPLETIONS, {"start_time": "2026-09-01"}, 400),
        (COMPLETIONS, {"start_time": epoch(SEP_1), "limit": 31}, 200),
        (COMPLETIONS, {"start_time": epoch(SEP_1), "limit": 32}, 400),
        (COMPLETIONS, {"start_time": epoch(SEP_1), "limit": 0}, 400),
        (COMPLETIONS, {"start_time": epoch(SEP_1), "bucket_width": "1h", "limit": 168}, 200),
        (COMPLETIONS, {"start_time": epoch(SEP_1), "bucket_width": "1h", "limit": 169}, 400),
        (COMPLETIONS, {"start_time": epoch(SEP_1), "bucket_width": "1m", "limit": 1441}, 400),
        (COMPLETIONS, {"start_time": epoch(SEP_1), "group_by": "vector_store_id"}, 400),
        (COSTS, {"start_time": epoch(SEP_1), "limit": 180}, 200),
        (COSTS, {"start_time": epoch(SEP_1), "limit": 181}, 400),
        (COSTS, {"start_time": epoch(SEP_1), "bucket_width": "1h"}, 400),
        ("/v1/organization/usage/file_search_calls", {"start_time": epoch(SEP_1)}, 200),
        ("/v1/organization/usage/images", {"start_time": epoch(SEP_1), "group_by[]": ["size", "source"]}, 200),
    ],
)
def test_openai_parameter_validation(oai: httpx.Client, path: str, params: dict[str, Any], status: int) -> None:
    response = oai.get(path, params=params)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        (MESSAGES, {"ending_at": rfc3339(SEP_1)}, 400),  # starting_at is required
        (MESSAGES, ANT_WINDOW | {"limit": 32}, 400),
        (MESSAGES, ANT_WINDOW | {"group_by": "model"}, 400),  # arrays only with brackets
        (MESSAGES, ANT_WINDOW | {"group_by[]": "model", "service_tiers[]": "batch"}, 200),
        (MESSAGES, ANT_WINDOW | {"bucket_width": "1h", "limit": 169}, 400),
        (COST_REPORT, ANT_WINDOW | {"limit": 31}, 200),
        (COST_REPORT, ANT_WINDOW | {"limit": 32}, 400),
        (COST_REPORT, ANT_WINDOW | {"bucket_width": "1h"}, 400),
        (COST_REPORT, ANT_WINDOW | {"group_by[]": "model"}, 400),
    ],
)
def test_anthropic_parameter_validation(ant: httpx.Client, path: str, params: dict[str, Any], status: int) -> None:
    response = ant.get(path, params=params)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_identity_endpoints(oai: httpx.Client, ant: httpx.Client) -> None:
    me = ant.get("/v1/organizations/me").json()
    projects = oai.get("/v1/organization/projects", params={"limit": 1}).json()

    assert me["type"] == "organization"
    assert me["name"] == "Initech"
    assert uuid.UUID(me["id"])
    assert projects["object"] == "list"
    assert projects["has_more"] is True
    assert len(projects["data"]) == 1
    assert projects["data"][0]["id"].startswith("proj_")


def test_rate_limit_every_nth_request_with_retry_after(running: RunningSimulator, own: Any) -> None:
    oai, _ant = own
    running.sim.set_faults(Faults(rate_limit_every_n=3, retry_after_s=1))
    statuses = [oai.get(COMPLETIONS, params=OAI_WINDOW) for _ in range(6)]

    assert [r.status_code for r in statuses] == [200, 200, 429, 200, 200, 429]
    assert statuses[2].headers["retry-after"] == "1"
    assert statuses[2].json()["error"]["code"] == "rate_limit_exceeded"


def test_anthropic_rate_limit_and_overloaded_bodies(running: RunningSimulator, own: Any) -> None:
    _oai, ant = own
    running.sim.set_faults(Faults(rate_limit_every_n=1, retry_after_s=None))
    limited = ant.get(MESSAGES, params=ANT_WINDOW)
    running.sim.set_faults(Faults(error_every_n=1, error_status=529))
    overloaded = ant.get(MESSAGES, params=ANT_WINDOW)

    assert limited.status_code == 429
    assert "retry-after" not in limited.headers
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert overloaded.status_code == 529
    assert overloaded.json()["error"]["type"] == "overloaded_error"
    assert overloaded.json()["request_id"] == overloaded.headers["request-id"]


def test_error_faults_can_target_one_provider(running: RunningSimulator, own: Any) -> None:
    oai, ant = own
    running.sim.set_faults(Faults(provider="openai", error_every_n=2, error_status=500))

    oai_statuses = [oai.get(COMPLETIONS, params=OAI_WINDOW).status_code for _ in range(4)]
    ant_statuses = [ant.get(MESSAGES, params=ANT_WINDOW).status_code for _ in range(4)]

    assert oai_statuses == [200, 500, 200, 500]
    assert ant_statuses == [200] * 4


def test_malformed_day_breaks_only_that_days_bucket(running: RunningSimulator, own: Any) -> None:
    oai, ant = own
    bad_day = date(2026, 9, 2)
    running.sim.set_faults(
        Faults(malformed_day=bad_day, malformed_provider="openai", malformed_endpoint="usage/completions")
    )
    usage = body(oai.get(COMPLETIONS, params=OAI_WINDOW))["data"]
    costs = body(oai.get(COSTS, params=OAI_WINDOW))["data"]
    running.sim.set_faults(
        Faults(malformed_day=bad_day, malformed_provider="anthropic", malformed_endpoint="cost_report")
    )
    report = body(ant.get(COST_REPORT, params=ANT_WINDOW))["data"]

    assert [isinstance(b["results"][0]["input_tokens"], int) for b in usage] == [True, False, True]
    assert all(b["results"][0]["amount"]["value"] for b in costs)
    Decimal(report[0]["results"][0]["amount"])
    with pytest.raises(InvalidOperation):
        Decimal(report[1]["results"][0]["amount"])


def test_hang_exceeds_a_clients_read_timeout(running: RunningSimulator) -> None:
    running.sim.set_faults(Faults(hang_ms=700))
    headers = {"Authorization": f"Bearer {OPENAI_ADMIN}"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(running.openai_base_url + COMPLETIONS, params=OAI_WINDOW, headers=headers, timeout=0.2)


def test_revoked_key_is_refused_afterwards(running: RunningSimulator, own: Any) -> None:
    oai, _ant = own
    assert oai.get(COMPLETIONS, params=OAI_WINDOW).status_code == 200
    running.sim.revoke_key(OPENAI_ADMIN)
    after = oai.get(COMPLETIONS, params=OAI_WINDOW)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "invalid_api_key"


def test_latency_does_not_serialise_concurrent_requests(running: RunningSimulator) -> None:
    running.sim.set_faults(Faults(latency_ms=100))

    async def six_in_parallel() -> tuple[list[int], float]:
        headers = {"Authorization": f"Bearer {OPENAI_ADMIN}"}
        async with httpx.AsyncClient(base_url=running.openai_base_url, headers=headers) as client:
            started = time.perf_counter()
            responses = await asyncio.gather(*(client.get(COMPLETIONS, params=OAI_WINDOW) for _ in range(6)))
            return [r.status_code for r in responses], time.perf_counter() - started

    statuses, elapsed = asyncio.run(six_in_parallel())
    assert statuses == [200] * 6
    assert 0.1 <= elapsed < 0.4  # serialised, six requests would take at least 0.6 s


def test_request_log_keeps_queries_and_statuses_but_never_keys(running: RunningSimulator, own: Any) -> None:
    oai, _ant = own
    oai.get(COMPLETIONS, params=OAI_WINDOW | {"group_by[]": ["model", "project_id"]})
    httpx.get(running.openai_base_url + COSTS, headers={"Authorization": f"Bearer {OPENAI_PROJECT}"})

    log = running.sim.requests
    served = httpx.get(running.root_url + "/_sim/requests").text

    assert [(r.provider, r.path, r.status) for r in log] == [("openai", COMPLETIONS, 200), ("openai", COSTS, 403)]
    assert log[0].query["group_by[]"] == ["model", "project_id"]
    assert log[0].key_fingerprint == hashlib.sha256(OPENAI_ADMIN.encode()).hexdigest()[:8]
    for secret in (OPENAI_ADMIN, OPENAI_PROJECT):
        assert secret not in served
        assert secret not in repr(log)
    assert httpx.post(running.root_url + "/_sim/reset-log").status_code == 204
    assert running.sim.requests == []


def test_control_api_drives_the_simulator_from_another_process(running: RunningSimulator) -> None:
    root = running.root_url + "/_sim"
    key = "sk-admin-control-api-0001"
    org = {
        "provider": "openai",
        "org_id": "org-control",
        "name": "Control",
        "admin_keys": [key],
        "seed": 99,
        "discount": "0.3",
        "history_start": "2026-08-01",
    }
    headers = {"Authorization": f"Bearer {key}"}

    assert httpx.get(root + "/healthz").json() == {"status": "ok"}
    created = httpx.post(root + "/orgs", json=org)
    invalid = httpx.post(root + "/orgs", json=org | {"discount": "2", "admin_keys": [key]})
    cost = body(
        httpx.get(running.openai_base_url + COSTS, params={"start_time": epoch(SEP_1), "limit": 1}, headers=headers)
    )
    truth = httpx.get(root + "/orgs/org-control/truth", params={"day": "2026-09-01"}).json()
    faults = httpx.post(root + "/faults", json={"error_every_n": 1, "error_status": 503})
    failed = httpx.get(running.openai_base_url + COSTS, params={"start_time": epoch(SEP_1)}, headers=headers)
    httpx.post(root + "/faults", json={})
    revoked = httpx.post(root + "/keys/revoke", json={"key": key})
    refused = httpx.get(running.openai_base_url + COSTS, params={"start_time": epoch(SEP_1)}, headers=headers)

    assert created.status_code == 201
    assert key not in created.text
    assert invalid.status_code == 422
    assert key not in invalid.text
    assert Decimal(str(cost["data"][0]["results"][0]["amount"]["value"])) == Decimal(truth["billed_cost_usd"])
    assert faults.status_code == 200
    assert failed.status_code == 503
    assert revoked.status_code == 204
    assert refused.status_code == 401
