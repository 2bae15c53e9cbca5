"""Azure's contract as the documentation states it, checked against the simulator and the client.

Each test cites the page it follows:
* Microsoft identity platform, "OAuth 2.0 client credentials flow" (learn.microsoft.com/entra/identity-platform/
  v2-oauth2-client-creds-grant-flow): the token request's form fields, the federated-credential assertion
  (``client_assertion_type`` jwt-bearer) and the error body ``error``, ``error_description``, ``error_codes``;
* Workload identity federation (learn.microsoft.com/entra/workload-id/workload-identity-federation): the assertion's
  ``iss``, ``sub`` and ``aud`` must match a federated credential exactly;
* Azure Resource Manager: every request carries ``api-version`` and a bearer token; errors are
  ``{"error": {"code", "message"}}``;
* Metrics - List (learn.microsoft.com/rest/api/monitor/metrics/list): ``metricnames``, ``aggregation``, ``interval``,
  ``timespan``, ``$filter`` on a dimension splits the series;
* Query - Usage (learn.microsoft.com/rest/api/cost-management/query/usage): at most two ``grouping`` entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devstack.provider_sim import RunningSimulator, serve
from devstack.provider_sim.simulator import ProviderSimulator
from devstack.tokens import mint_identity_token
from shared.adapters.azure import AzureUsage
from shared.adapters.provider_http import RetryPolicy
from shared.config import Settings
from tests.support.azure_sim import SUBJECT, azure_tenant, connection

TODAY = datetime.now(UTC).date()
TENANT = azure_tenant("ent_azure_contract", history_start=TODAY - timedelta(days=5))
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "https://management.azure.com/.default"


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator()
    sim.add_azure_tenant(TENANT)
    with serve(sim) as running:
        yield running


def _token_form(**changes: str) -> dict[str, str]:
    form = {
        "client_id": TENANT.client_id,
        "scope": SCOPE,
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION,
        "client_assertion": mint_identity_token(SUBJECT, TENANT.external_id),
    }
    return {k: v for k, v in {**form, **changes}.items() if v}


def _login(running: RunningSimulator, form: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{running.root_url}/azure/login/{TENANT.tenant_id}/oauth2/v2.0/token", data=form)


def _arm_token(running: RunningSimulator) -> str:
    answer = _login(running, _token_form())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["token_type"], body["expires_in"] > 0) == ("Bearer", True)
    return str(body["access_token"])


@pytest.mark.parametrize(
    ("changes", "status", "aadsts"),
    [
        ({"client_assertion": mint_identity_token(SUBJECT, "api://AzureADTokenExchange")}, 401, 70021),
        ({"client_assertion": mint_identity_token("999", TENANT.external_id)}, 401, 70021),
        ({"client_assertion_type": "", "client_assertion": ""}, 400, 7000218),
        ({"grant_type": "authorization_code"}, 400, 70003),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, 400, 700016),
        ({"scope": ""}, 400, 900144),
    ],
    ids=["other-audience", "other-subject", "no-assertion", "grant", "unknown-app", "no-scope"],
)
def test_entra_id_refuses_what_the_client_credentials_flow_refuses(
    running: RunningSimulator, changes: dict[str, str], status: int, aadsts: int
) -> None:
    answer = _login(running, _token_form(**changes))
    assert answer.status_code == status
    body = answer.json()
    assert body["error_codes"] == [aadsts]
    assert body["error_description"].startswith(f"AADSTS{aadsts}:")


def test_resource_manager_requires_a_bearer_token_and_an_api_version(running: RunningSimulator) -> None:
    url = f"{running.root_url}/azure/arm{TENANT.resource_id(TENANT.accounts[0])}/deployments"
    bearer = {"Authorization": f"Bearer {_arm_token(running)}"}
    without_token = httpx.get(url, params={"api-version": "2024-10-01"})
    without_version = httpx.get(url, headers=bearer)
    ok = httpx.get(url, params={"api-version": "2024-10-01"}, headers=bearer)
    assert (without_token.status_code, without_token.json()["error"]["code"]) == (401, "AuthenticationFailed")
    assert (without_version.status_code, without_version.json()["error"]["code"]) == (400, "MissingApiVersionParameter")
    assert ok.status_code == 200
    assert {d["properties"]["model"]["name"] for d in ok.json()["value"]} >= {"gpt-4o"}


def test_metrics_are_split_by_deployment_only_with_the_dimension_filter(running: RunningSimulator) -> None:
    url = f"{running.root_url}/azure/arm{TENANT.resource_id(TENANT.accounts[0])}/providers/Microsoft.Insights/metrics"
    start, end = TODAY - timedelta(days=3), TODAY
    params = {
        "api-version": "2023-10-01",
        "metricnames": "ProcessedPromptTokens",
        "aggregation": "Total",
        "interval": "P1D",
        "timespan": f"{start}T00:00:00Z/{end}T00:00:00Z",
    }
    bearer = {"Authorization": f"Bearer {_arm_token(running)}"}
    whole = httpx.get(url, params=params, headers=bearer).json()["value"][0]["timeseries"]
    split = httpx.get(url, params={**params, "$filter": "ModelDeploymentName eq '*'"}, headers=bearer).json()
    unknown = httpx.get(url, params={**params, "metricnames": "TokensEverywhere"}, headers=bearer)
    assert [s["metadatavalues"] for s in whole] == [[]]
    assert len(split["value"][0]["timeseries"]) == len(TENANT.deployments(TENANT.accounts[0]))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "BadRequest")


def test_the_cost_query_allows_at_most_two_groupings(running: RunningSimulator) -> None:
    url = (
        f"{running.root_url}/azure/arm/subscriptions/{TENANT.subscription_id}/providers/Microsoft.CostManagement/query"
    )
    grouping = [{"type": "Dimension", "name": n} for n in ("ResourceId", "Meter", "MeterSubCategory")]
    body = {
        "type": "ActualCost",
        "timeframe": "Custom",
        "timePeriod": {"from": f"{TODAY - timedelta(days=2)}T00:00:00Z", "to": f"{TODAY}T00:00:00Z"},
        "dataset": {"granularity": "Daily", "grouping": grouping},
    }
    answer = httpx.post(
        url, params={"api-version": "2023-03-01"}, json=body, headers={"Authorization": f"Bearer {_arm_token(running)}"}
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "BadRequest")


def test_the_client_sends_what_the_references_require(running: RunningSimulator) -> None:
    settings = Settings(
        firebase_auth_emulator_host="127.0.0.1:9099",
        **{k.lower(): v for k, v in running.azure_env().items()},  # type: ignore[arg-type]
    )

    async def pull() -> None:
        key = connection("ent_azure_contract", TENANT)
        async with AzureUsage(key, settings=settings, policy=RetryPolicy(max_retries=0)) as source:
            await source.pull(TODAY - timedelta(days=2), TODAY)

    running.sim.reset_log()
    asyncio.run(pull())
    metrics = [r for r in running.sim.requests if r.path.endswith("/metrics")]
    assert metrics
    assert all(r.status == 200 for r in running.sim.requests)
    query = metrics[0].query
    assert (query["interval"], query["aggregation"], query["$filter"]) == (
        ["P1D"],
        ["Total"],
        ["ModelDeploymentName eq '*'"],
    )
    assert query["metricnames"] == ["ProcessedPromptTokens,GeneratedTokens"]
