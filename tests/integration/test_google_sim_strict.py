"""The simulator refuses what Google refuses, with Google's error bodies, over real HTTP.

Each rule cites the page it comes from; a client that passes only because the simulator is lenient is a defect, so
every request shape the platform's client once sent and Google refuses is replayed here and must be refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from google.auth import crypt, jwt

from devstack.provider_sim import Faults, ProviderSimulator, RunningSimulator, serve
from tests.support.google_sim import BILLING_ACCOUNT, PROJECTS, READER, TABLE, google_org

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MONITORING_READ = "https://www.googleapis.com/auth/monitoring.read"
BIGQUERY = "https://www.googleapis.com/auth/bigquery"
BIGQUERY_READONLY = "https://www.googleapis.com/auth/bigquery.readonly"
OLD_GEMINI_FILTER = (
    'metric.type = monitoring.regex.full_match("generativelanguage\\\\.googleapis\\\\.com/quota/'
    'generate_content_(free|paid)_tier(_[0-9]+)?_input_token_count/usage")'
)
"""The filter the Gemini API input family sent before issue 19: a regex over ``metric.type``."""
VERTEX = 'metric.type = "aiplatform.googleapis.com/publisher/online_serving/token_count"'


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator(now=lambda: NOW)
    sim.add_google_org(google_org())
    with serve(sim) as running:
        yield running


@pytest.fixture
def sim(running: RunningSimulator) -> Iterator[ProviderSimulator]:
    running.sim.set_faults(Faults())
    yield running.sim
    running.sim.set_faults(Faults())


def token(running: RunningSimulator, *scopes: str) -> str:
    key = running.sim.google.key(BILLING_ACCOUNT, READER)
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": key["client_email"], "scope": " ".join(scopes), "aud": running.google_token_url}
    assertion = jwt.encode(crypt.RSASigner.from_service_account_info(key), claims | {"iat": now, "exp": now + 600})
    granted = httpx.post(running.google_token_url, data={"grant_type": jwt_bearer(), "assertion": assertion.decode()})
    assert granted.status_code == 200, granted.text
    return str(granted.json()["access_token"])


def jwt_bearer() -> str:
    return "urn:ietf:params:oauth:grant-type:jwt-bearer"


def series(running: RunningSimulator, bearer: str, project: str = PROJECTS[0], **params: str) -> httpx.Response:
    query = {
        "filter": VERTEX,
        "interval.startTime": "2026-11-10T00:00:00Z",
        "interval.endTime": "2026-11-12T00:00:00Z",
        "aggregation.alignmentPeriod": "86400s",
        "aggregation.perSeriesAligner": "ALIGN_SUM",
    } | params
    query = {k: v for k, v in query.items() if v != "-"}
    url = f"{running.google_monitoring_base_url}/v3/projects/{project}/timeSeries"
    return httpx.get(url, params=query, headers={"Authorization": f"Bearer {bearer}"})


def query(running: RunningSimulator, bearer: str, *, dry_run: bool = True) -> httpx.Response:
    day = {"parameterType": {"type": "TIMESTAMP"}, "parameterValue": {"value": "2026-11-10 00:00:00+00:00"}}
    body: dict[str, Any] = {
        "query": f"SELECT cost FROM `{TABLE}`",  # noqa: S608 - a constant table name
        "useLegacySql": False,
        "queryParameters": [
            {"name": "start", **day},
            {"name": "end", **day},
            *(
                {
                    "name": name,
                    "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
                    "parameterValue": {"arrayValues": [{"value": v} for v in values]},
                }
                for name, values in (("projects", PROJECTS), ("services", ["Vertex AI"]))
            ),
        ],
        "dryRun": dry_run,
    }
    url = f"{running.google_bigquery_base_url}/bigquery/v2/projects/{TABLE.split('.')[0]}/queries"
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {bearer}"})


def error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()["error"]
    assert body["code"] == response.status_code
    return dict(body)


def reasons(response: httpx.Response) -> set[str]:
    return {d.get("reason") for d in error(response).get("details", []) if "ErrorInfo" in d.get("@type", "")}


@pytest.mark.parametrize(
    "bad_filter",
    [
        OLD_GEMINI_FILTER,
        'metric.type = starts_with("generativelanguage.googleapis.com/quota/")',
        f'{VERTEX} OR metric.type = "generativelanguage.googleapis.com/generate_content_usage_output_token_count"',
        'resource.type = "consumer_quota"',
        "",
    ],
    ids=["regex", "prefix", "two-types", "no-type", "empty"],
)
def test_a_filter_that_does_not_name_one_metric_type_is_refused_400(
    running: RunningSimulator, sim: ProviderSimulator, bad_filter: str
) -> None:
    """``filter``: "Required. ... The filter must specify a single metric type" (cloud.google.com/monitoring/api/
    ref_v3/rest/v3/projects.timeSeries/list). Google answers 400 INVALID_ARGUMENT (cloud.google.com/apis/design/
    errors)."""
    response = series(running, token(running, MONITORING_READ), filter=bad_filter or "-")

    assert response.status_code == 400
    assert error(response)["status"] == "INVALID_ARGUMENT"
    assert "filter" in error(response)["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval.endTime": "-"}, "interval.endTime"),
        ({"aggregation.alignmentPeriod": "-"}, "aggregation.alignmentPeriod"),
        ({"aggregation.crossSeriesReducer": "REDUCE_SUM", "aggregation.perSeriesAligner": "-"}, "perSeriesAligner"),
    ],
    ids=["no-end", "aligner-without-period", "reducer-without-aligner"],
)
def test_required_query_parameters_are_checked(
    running: RunningSimulator, sim: ProviderSimulator, params: dict[str, str], field: str
) -> None:
    """``interval`` is Required; ``alignmentPeriod`` is required when ``perSeriesAligner`` is not ALIGN_NONE; a
    ``crossSeriesReducer`` needs a ``perSeriesAligner`` and an ``alignmentPeriod``, "or an error is returned"
    (cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list, ``Aggregation``). ``groupByFields``
    without a reducer are ignored there, so they are not refused here."""
    response = series(running, token(running, MONITORING_READ), **params)

    assert response.status_code == 400
    assert error(response)["status"] == "INVALID_ARGUMENT"
    assert field in error(response)["message"]


def test_the_bigquery_readonly_scope_cannot_run_jobs_query(running: RunningSimulator, sim: ProviderSimulator) -> None:
    """``jobs.query`` requires one of the scopes ``bigquery``, ``cloud-platform`` or ``cloud-platform.read-only``
    (cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query, "Authorization scopes"); a token without them is
    403 PERMISSION_DENIED with ErrorInfo reason ACCESS_TOKEN_SCOPE_INSUFFICIENT (cloud.google.com/apis/design/
    errors)."""
    refused = query(running, token(running, MONITORING_READ, BIGQUERY_READONLY))
    accepted = query(running, token(running, MONITORING_READ, BIGQUERY))

    assert refused.status_code == 403
    assert (error(refused)["status"], reasons(refused)) == ("PERMISSION_DENIED", {"ACCESS_TOKEN_SCOPE_INSUFFICIENT"})
    assert accepted.status_code == 200, accepted.text


def test_monitoring_refuses_a_token_without_a_monitoring_scope(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    """``timeSeries.list`` requires ``monitoring``, ``monitoring.read`` or ``cloud-platform`` (its reference page,
    "Authorization scopes")."""
    response = series(running, token(running, BIGQUERY))

    assert response.status_code == 403
    assert reasons(response) == {"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}


def test_a_project_that_does_not_exist_is_404_and_a_disabled_api_is_403_service_disabled(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    """404 NOT_FOUND for a resource that does not exist; 403 with ErrorInfo reason SERVICE_DISABLED (metadata
    ``service``, ``consumer``) when the API is not enabled in the project (cloud.google.com/apis/design/errors,
    "ErrorInfo")."""
    bearer = token(running, MONITORING_READ)
    missing = series(running, bearer, project="acme-elsewhere")
    sim.set_faults(Faults(google_disabled_api="monitoring"))
    disabled = series(running, bearer)

    assert (missing.status_code, error(missing)["status"]) == (404, "NOT_FOUND")
    assert (disabled.status_code, reasons(disabled)) == (403, {"SERVICE_DISABLED"})
    info = next(d for d in error(disabled)["details"] if d.get("reason") == "SERVICE_DISABLED")
    assert info["metadata"]["service"] == "monitoring.googleapis.com"
