"""Contract tests from the providers' documentation: one per provider call, run against both sides.

For each call a ``Contract`` holds what the reference page documents: the request (path, parameters and their
allowed values) and an example response written in the documented shape. Then:

* **the simulator** must accept the documented request and answer in the documented shape (every documented key
  present, with the documented JSON type);
* **the client** must only send documented parameters with allowed values (its requests to the simulator are
  checked against the contract, not against the simulator's own rules), and must read the documented example
  (Google: a pull served by the documented examples alone, over a mock transport; OpenAI and Anthropic: the golden
  tests in ``tests/unit/test_normalise_golden.py`` feed the documented bodies through the clients).

So the simulator cannot drift from the documentation without a contract failing on its side, and the client cannot
rely on a rule the simulator does not enforce.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from google.auth import crypt, jwt
from pydantic import SecretStr

from devstack.provider_sim import ProviderSimulator, RunningSimulator, SimOrg, serve
from devstack.provider_sim.google_routes import SCHEMA
from shared.adapters.anthropic_admin import AnthropicAdmin
from shared.adapters.google_cloud import GoogleCloudUsage
from shared.adapters.openai_admin import OpenAIAdmin
from shared.adapters.provider_http import RetryPolicy
from shared.config import Settings
from shared.domain.usage.records import CostSource, DayStatus
from tests.support.google_sim import BILLING_ACCOUNT, PROJECTS, READER, connection, google_org

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
DAY = date(2026, 11, 18)
DAY_EPOCH = int(datetime(2026, 11, 18, tzinfo=UTC).timestamp())
OPENAI_KEY = "sk-admin-sim-contract-0123456789"
ANTHROPIC_KEY = "sk-ant-admin01-sim-contract-0123456789"
POLICY = RetryPolicy(max_retries=1, backoff_base_s=0.01, backoff_max_s=0.1, connect_timeout_s=2, read_timeout_s=10)
AUTH = "https://www.googleapis.com/auth/"


@dataclass(frozen=True)
class Contract:
    """One provider call as its reference page documents it."""

    page: str
    path: str
    params: dict[str, tuple[str, ...] | None]
    """Documented query parameters → allowed values (``None``: any value)."""
    example: dict[str, Any]
    """A response written in the documented shape."""
    request: list[tuple[str, str]] = field(default_factory=list)
    """A documented request, sent to the simulator."""
    limit_max: int = 31


OPENAI_COMPLETIONS = Contract(
    page="platform.openai.com/docs/api-reference/usage/completions",
    path="/v1/organization/usage/completions",
    params={
        "start_time": None,
        "end_time": None,
        "bucket_width": ("1m", "1h", "1d"),
        "group_by": ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier"),
        "limit": None,
        "page": None,
        **dict.fromkeys(("project_ids", "user_ids", "api_key_ids", "models", "batch")),
    },
    example={
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": DAY_EPOCH,
                "end_time": DAY_EPOCH + 86_400,
                "results": [
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": 1000,
                        "output_tokens": 500,
                        "input_cached_tokens": 800,
                        "num_model_requests": 5,
                        "project_id": None,
                        "user_id": None,
                        "api_key_id": None,
                        "model": None,
                        "batch": None,
                    }
                ],
            }
        ],
        "has_more": True,
        "next_page": "page_AAAAAGdGxdEiJdKOAAAAAGcqsYA=",
    },
    request=[("start_time", str(DAY_EPOCH)), ("limit", "1")],
)
OPENAI_COSTS = Contract(
    page="platform.openai.com/docs/api-reference/usage/costs",
    path="/v1/organization/costs",
    params={
        "start_time": None,
        "end_time": None,
        "bucket_width": ("1d",),
        "group_by": ("project_id", "line_item", "api_key_id"),
        "limit": None,
        "page": None,
        "project_ids": None,
        "api_key_ids": None,
    },
    example={
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": DAY_EPOCH,
                "end_time": DAY_EPOCH + 86_400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 0.06, "currency": "usd"},
                        "line_item": None,
                        "project_id": None,
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    },
    request=[("start_time", str(DAY_EPOCH)), ("limit", "1")],
    limit_max=180,
)
ANTHROPIC_MESSAGES = Contract(
    page="platform.claude.com/docs/en/api/admin/usage_report/retrieve_messages",
    path="/v1/organizations/usage_report/messages",
    params={
        "starting_at": None,
        "ending_at": None,
        "bucket_width": ("1d", "1h", "1m"),
        "group_by[]": ("api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo"),
        "limit": None,
        "page": None,
        **dict.fromkeys(("api_key_ids[]", "workspace_ids[]", "models[]", "service_tiers[]", "context_window[]")),
    },
    example={
        "data": [
            {
                "starting_at": "2026-11-18T00:00:00Z",
                "ending_at": "2026-11-19T00:00:00Z",
                "results": [
                    {
                        "uncached_input_tokens": 1500,
                        "cache_creation": {"ephemeral_1h_input_tokens": 1000, "ephemeral_5m_input_tokens": 500},
                        "cache_read_input_tokens": 200,
                        "output_tokens": 500,
                        "server_tool_use": {"web_search_requests": 10},
                        "api_key_id": None,
                        "workspace_id": None,
                        "model": None,
                        "service_tier": None,
                        "context_window": None,
                    }
                ],
            }
        ],
        "has_more": True,
        "next_page": "page_MjAyNS0wNS0xNFQwMDowMDowMFo=",
    },
    request=[("starting_at", "2026-11-18T00:00:00Z"), ("ending_at", "2026-11-19T00:00:00Z")],
)
ANTHROPIC_COSTS = Contract(
    page="platform.claude.com/docs/en/api/admin/cost_report/retrieve",
    path="/v1/organizations/cost_report",
    params={
        "starting_at": None,
        "ending_at": None,
        "bucket_width": ("1d",),
        "group_by[]": ("workspace_id", "description"),
        "limit": None,
        "page": None,
    },
    example={
        "data": [
            {
                "starting_at": "2026-11-18T00:00:00Z",
                "ending_at": "2026-11-19T00:00:00Z",
                "results": [
                    {
                        "currency": "USD",
                        "amount": "123.78912",
                        "workspace_id": None,
                        "description": "Claude Sonnet 4 Usage - Input Tokens",
                        "cost_type": "tokens",
                        "context_window": "0-200k",
                        "model": "claude-sonnet-4-20250514",
                        "service_tier": "standard",
                        "token_type": "uncached_input_tokens",
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    },
    request=[
        ("starting_at", "2026-11-18T00:00:00Z"),
        ("ending_at", "2026-11-19T00:00:00Z"),
        ("group_by[]", "description"),
    ],
)
REPORT_CONTRACTS = [OPENAI_COMPLETIONS, OPENAI_COSTS, ANTHROPIC_MESSAGES, ANTHROPIC_COSTS]


def conforms(example: Any, actual: Any, where: str = "$") -> list[str]:
    """Where ``actual`` departs from the documented shape of ``example`` (documented keys, JSON types)."""
    if example is None:
        return []  # documented as nullable: any value or null
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{where}: not an object"]
        problems = [f"{where}.{k}: missing" for k in example if k not in actual]
        return problems + [p for k in example if k in actual for p in conforms(example[k], actual[k], f"{where}.{k}")]
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{where}: not an array"]
        return (
            [p for i, item in enumerate(actual) for p in conforms(example[0], item, f"{where}[{i}]")] if example else []
        )
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    if actual is None:
        return []  # null where the example has a value: documented as nullable too (``next_page`` on the last page)
    if isinstance(actual, bool) != isinstance(example, bool) or not isinstance(actual, kinds[type(example)]):
        return [f"{where}: {type(actual).__name__} where the docs have {type(example).__name__}"]
    return []


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator(now=lambda: NOW)
    for provider, org, key in (("openai", "org-contract", OPENAI_KEY), ("anthropic", "contract", ANTHROPIC_KEY)):
        sim.add_org(
            SimOrg(
                provider=provider,  # type: ignore[arg-type]
                org_id=org,
                name="Contract",
                admin_keys=[SecretStr(key)],
                seed=11,
                history_start=date(2026, 10, 1),
            )
        )
    sim.add_google_org(google_org())
    with serve(sim) as running:
        yield running


def _headers(contract: Contract) -> dict[str, str]:
    if contract.path.startswith("/v1/organizations/"):
        return {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    return {"Authorization": f"Bearer {OPENAI_KEY}"}


def _base(running: RunningSimulator, contract: Contract) -> str:
    anthropic = contract.path.startswith("/v1/organizations/")
    return running.anthropic_base_url if anthropic else running.openai_base_url


@pytest.mark.parametrize("contract", REPORT_CONTRACTS, ids=lambda c: c.path.rsplit("/", 1)[-1])
def test_the_simulator_accepts_the_documented_request_and_answers_the_documented_shape(
    running: RunningSimulator, contract: Contract
) -> None:
    response = httpx.get(_base(running, contract) + contract.path, params=contract.request, headers=_headers(contract))

    assert response.status_code == 200, (contract.page, response.text)
    body = response.json()
    assert body["data"], contract.page
    assert any(b["results"] for b in body["data"]), "the documented example has results: so must the check"
    assert conforms(contract.example, body) == [], contract.page


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_the_clients_send_only_documented_parameters_with_allowed_values(
    running: RunningSimulator, provider: str
) -> None:
    running.sim.reset_log()
    if provider == "openai":
        client: Any = OpenAIAdmin(SecretStr(OPENAI_KEY), base_url=running.openai_base_url, policy=POLICY)
    else:
        client = AnthropicAdmin(SecretStr(ANTHROPIC_KEY), base_url=running.anthropic_base_url, policy=POLICY)
    async with client:
        await client.pull(date(2026, 10, 1), date(2026, 11, 18))  # more days than a page holds: pages followed

    contracts = {c.path: c for c in REPORT_CONTRACTS}
    checked = 0
    for request in (r for r in running.sim.requests if r.provider == provider and r.path in contracts):
        contract = contracts[request.path]
        for raw_name, values in request.query.items():
            # OpenAI's SDK sends arrays as ``k[]`` and its cookbook as repeated ``k`` (provider-apis.md §1.1).
            name = raw_name.removesuffix("[]") if provider == "openai" else raw_name
            assert name in contract.params, (contract.page, name)
            allowed = contract.params[name]
            assert allowed is None or set(values) <= set(allowed), (contract.page, name, values)
        assert 1 <= int(request.query["limit"][0]) <= contract.limit_max, contract.page
        checked += 1
    assert checked >= 2


# --- Google -----------------------------------------------------------------------------------------------------

TIME_SERIES_PAGE = "cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list"
TIME_SERIES_PARAMS = {
    "filter",
    "interval.startTime",
    "interval.endTime",
    "aggregation.alignmentPeriod",
    "aggregation.perSeriesAligner",
    "aggregation.crossSeriesReducer",
    "aggregation.groupByFields",
    "orderBy",
    "view",
    "pageSize",
    "pageToken",
}
TIME_SERIES_EXAMPLE: dict[str, Any] = {
    "timeSeries": [
        {
            "metric": {
                "type": "aiplatform.googleapis.com/publisher/online_serving/token_count",
                "labels": {"type": "input"},
            },
            "resource": {
                "type": "aiplatform.googleapis.com/PublisherModel",
                "labels": {"model_user_id": "gemini-2.5-flash", "location": "us-central1"},
            },
            "metricKind": "DELTA",
            "valueType": "INT64",
            "points": [{"interval": {"endTime": "2026-11-19T00:00:00Z"}, "value": {"int64Value": "1234"}}],
        }
    ],
}
"""``ListTimeSeriesResponse`` / ``TimeSeries`` / ``Point``: ``int64Value`` is a string (int64 in JSON);
``interval.startTime`` is optional (``TimeInterval``)."""
QUERY_PAGE = "cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query"
QUERY_REQUEST_FIELDS = {
    "kind",
    "query",
    "maxResults",
    "defaultDataset",
    "timeoutMs",
    "dryRun",
    "useQueryCache",
    "useLegacySql",
    "parameterMode",
    "queryParameters",
    "location",
    "formatOptions",
    "connectionProperties",
    "labels",
    "maximumBytesBilled",
    "requestId",
    "createSession",
    "jobCreationMode",
}
"""``QueryRequest``'s documented fields."""
SCOPES_BY_METHOD = {
    "timeSeries.list": {AUTH + s for s in ("monitoring", "monitoring.read", "cloud-platform")},
    "jobs.query": {AUTH + s for s in ("bigquery", "cloud-platform", "cloud-platform.read-only")},
    "jobs.getQueryResults": {
        AUTH + s for s in ("bigquery", "bigquery.readonly", "cloud-platform", "cloud-platform.read-only")
    },
}
"""Each method's "Authorization scopes" section."""


def _billing_row(service: str, sku: str, cost: str, amount: str) -> dict[str, Any]:
    """A ``TableRow`` (``f``/``v`` cells, every value a string) of the platform's billing query's columns."""
    micros = str(DAY_EPOCH * 1_000_000 + 3_600_000_000)
    cells = [micros, PROJECTS[0], service, "2D1C-F790-3C09", sku, cost, "USD", "1", "regular", amount, "count"]
    credits = [{"v": {"f": [{"v": "discount"}, {"v": "-0.1"}, {"v": "d"}, {"v": "id"}, {"v": "DISCOUNT"}]}}]
    return {"f": [*({"v": c} for c in cells), {"v": credits}]}


def _query_response(schema: dict[str, Any]) -> dict[str, Any]:
    sku = "Generate content input token count Gemini 2.5 Flash short input text"
    return {
        "kind": "bigquery#queryResponse",
        "schema": schema,
        "jobReference": {"projectId": "acme-finops", "jobId": "job_doc_example", "location": "US"},
        "totalRows": "1",
        "rows": [_billing_row("Vertex AI", sku, "1.5", "5000000")],
        "totalBytesProcessed": "1024",
        "jobComplete": True,
        "cacheHit": False,
    }


class DocumentedGoogle:
    """Google as its reference pages document it, for the client: checks each request, answers the examples."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.calls: list[str] = []
        self.scopes: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/token"):
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            claims = json.loads(base64.urlsafe_b64decode(form["assertion"].split(".")[1] + "=="))
            self.scopes = set(claims["scope"].split())
            self.calls.append("token")
            return httpx.Response(
                200, json={"access_token": "ya29.doc-example", "expires_in": 3599, "token_type": "Bearer"}
            )
        if path.endswith("/timeSeries"):
            return self._time_series(request)
        if path.endswith("/queries"):
            body = json.loads(request.content)
            assert set(body) <= QUERY_REQUEST_FIELDS, (QUERY_PAGE, set(body) - QUERY_REQUEST_FIELDS)
            assert self.scopes & SCOPES_BY_METHOD["jobs.query"], QUERY_PAGE
            self.calls.append("jobs.query")
            return httpx.Response(200, json=_query_response(self.schema))
        return httpx.Response(
            404, json={"error": {"code": 404, "message": "not documented here", "status": "NOT_FOUND"}}
        )

    def _time_series(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert set(params) <= TIME_SERIES_PARAMS, TIME_SERIES_PAGE
        types = re.findall(r'metric\.type\s*=\s*"([^"]+)"', params["filter"])
        assert len(types) == 1, (TIME_SERIES_PAGE, params["filter"])
        assert params["filter"].count("metric.type") == 1, (TIME_SERIES_PAGE, params["filter"])
        assert "interval.endTime" in params, TIME_SERIES_PAGE
        if params.get("aggregation.perSeriesAligner", "ALIGN_NONE") != "ALIGN_NONE":
            assert "aggregation.alignmentPeriod" in params, TIME_SERIES_PAGE
        assert self.scopes & SCOPES_BY_METHOD["timeSeries.list"], TIME_SERIES_PAGE
        self.calls.append("timeSeries.list")
        vertex = types[0] == TIME_SERIES_EXAMPLE["timeSeries"][0]["metric"]["type"] and PROJECTS[0] in request.url.path
        on_day = params["interval.startTime"] <= "2026-11-18T00:00:00Z" < params["interval.endTime"]
        return httpx.Response(200, json=TIME_SERIES_EXAMPLE if vertex and on_day else {})


async def test_the_google_client_reads_googles_documented_examples(running: RunningSimulator) -> None:
    google = DocumentedGoogle(SCHEMA)  # the columns the platform's query selects
    settings = Settings(
        google_token_url="https://oauth2.googleapis.com/token",
        google_monitoring_base_url="https://monitoring.googleapis.com",
        google_bigquery_base_url="https://bigquery.googleapis.com",
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(google)) as http:
        source = GoogleCloudUsage(connection(running.sim), settings=settings, http=http, policy=POLICY)
        result = await source.pull(DAY, date(2026, 11, 19))

    day = result.days[DAY]
    assert (day.status, day.cost_source) == (DayStatus.OK, CostSource.BILLED)
    assert day.totals.input_tokens == 1234
    assert day.billed_usd == Decimal("1.4")  # cost 1.5 + credit -0.1, rate 1
    assert {"token", "timeSeries.list", "jobs.query"} <= set(google.calls)


def test_the_simulator_answers_googles_documented_request_in_the_documented_shape(running: RunningSimulator) -> None:
    key = running.sim.google.key(BILLING_ACCOUNT, READER)
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": key["client_email"], "scope": AUTH + "monitoring.read", "aud": running.google_token_url}
    assertion = jwt.encode(crypt.RSASigner.from_service_account_info(key), claims | {"iat": now, "exp": now + 600})
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion.decode()}
    token = httpx.post(running.google_token_url, data=grant).json()
    documented = {  # the reference page's example filter, with the documented daily aggregation
        "filter": 'metric.type = "aiplatform.googleapis.com/publisher/online_serving/token_count"',
        "interval.startTime": "2026-11-18T00:00:00Z",
        "interval.endTime": "2026-11-19T00:00:00Z",
        "aggregation.alignmentPeriod": "86400s",
        "aggregation.perSeriesAligner": "ALIGN_SUM",
    }
    url = f"{running.google_monitoring_base_url}/v3/projects/{PROJECTS[0]}/timeSeries"
    response = httpx.get(url, params=documented, headers={"Authorization": f"Bearer {token['access_token']}"})

    assert set(token) >= {
        "access_token",
        "expires_in",
        "token_type",
    }  # developers.google.com/identity/.../service-account
    assert response.status_code == 200, response.text
    assert response.json()["timeSeries"]
    assert conforms(TIME_SERIES_EXAMPLE, response.json()) == [], TIME_SERIES_PAGE
