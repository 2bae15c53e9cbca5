"""Contract tests for Amazon Bedrock's AWS calls, from the AWS API references, run against both sides.

Pages (the request members, required ones and response elements below are theirs):

* STS ``AssumeRoleWithWebIdentity``: docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
* CloudWatch ``ListMetrics`` / ``GetMetricData``: docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/
  API_ListMetrics.html, API_GetMetricData.html, API_MetricDataResult.html (JSON protocol: X-Amz-Target
  ``GraniteServiceVersion20100801.<Op>``, ``application/x-amz-json-1.0``)
* Bedrock ``ListFoundationModels`` / ``ListInferenceProfiles`` (REST-JSON, signing name ``bedrock``):
  docs.aws.amazon.com/bedrock/latest/APIReference/API_ListFoundationModels.html, API_ListInferenceProfiles.html
* Cost Explorer ``GetDimensionValues`` / ``GetCostAndUsage``: docs.aws.amazon.com/aws-cost-management/latest/
  APIReference/API_GetDimensionValues.html, API_GetCostAndUsage.html, API_ResultByTime.html (X-Amz-Target
  ``AWSInsightsIndexService.<Op>``, ``application/x-amz-json-1.1``)

Then: the simulator must accept each documented request and answer with the documented elements, and refuse one
missing a required member; the client must send only documented members (checked against this file, not against the
simulator's rules) and must read responses written in the documented shapes (over a mock transport).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr

from devstack.provider_sim import RunningSimulator, serve
from devstack.provider_sim.simulator import ProviderSimulator
from devstack.tokens import mint_identity_token
from shared.adapters.aws_sigv4 import AwsCredentials, SigV4Auth
from shared.adapters.aws_sts import assume_role
from shared.adapters.bedrock import BedrockUsage
from shared.adapters.provider_http import RetryPolicy
from shared.config import Settings
from shared.domain.usage.records import CostSource
from tests.support.bedrock_sim import SUBJECT, bedrock_account, connection

TODAY = datetime.now(UTC).date()
ENTERPRISE = "ent_bedrock_contract"
ACCOUNT = "101010101010"
POLICY = RetryPolicy(max_retries=1, backoff_base_s=0.001, backoff_max_s=0.01)
STS_MEMBERS = {"Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken", "DurationSeconds"}
STS_MEMBERS |= {"ProviderId", "PolicyArns", "Policy"}


@dataclass(frozen=True)
class Contract:
    page: str
    service: str
    target: str
    members: frozenset[str]
    required: frozenset[str]
    response: dict[str, type]
    """Documented response elements the simulator must return for the documented request, with their JSON type."""
    request: dict[str, Any]


def _period() -> dict[str, str]:
    return {"Start": (TODAY - timedelta(days=3)).isoformat(), "End": TODAY.isoformat()}


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


LIST_METRICS = Contract(
    page="AmazonCloudWatch/latest/APIReference/API_ListMetrics.html",
    service="monitoring",
    target="GraniteServiceVersion20100801.ListMetrics",
    members=frozenset(
        {
            "Namespace",
            "MetricName",
            "Dimensions",
            "NextToken",
            "RecentlyActive",
            "IncludeLinkedAccounts",
            "OwningAccount",
        }
    ),
    required=frozenset(),
    response={"Metrics": list},
    request={"Namespace": "AWS/Bedrock", "MetricName": "InputTokenCount"},
)
GET_METRIC_DATA = Contract(
    page="AmazonCloudWatch/latest/APIReference/API_GetMetricData.html",
    service="monitoring",
    target="GraniteServiceVersion20100801.GetMetricData",
    members=frozenset(
        {"MetricDataQueries", "StartTime", "EndTime", "NextToken", "ScanBy", "MaxDatapoints", "LabelOptions"}
    ),
    required=frozenset({"MetricDataQueries", "StartTime", "EndTime"}),
    response={"MetricDataResults": list, "Messages": list},
    request={
        "MetricDataQueries": [
            {
                "Id": "m0",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Bedrock",
                        "MetricName": "InputTokenCount",
                        "Dimensions": [{"Name": "ModelId", "Value": "amazon.nova-pro-v1:0"}],
                    },
                    "Period": 86400,
                    "Stat": "Sum",
                },
            }
        ],
        "StartTime": _epoch(TODAY - timedelta(days=3)),
        "EndTime": _epoch(TODAY),
    },
)
GET_DIMENSION_VALUES = Contract(
    page="aws-cost-management/latest/APIReference/API_GetDimensionValues.html",
    service="ce",
    target="AWSInsightsIndexService.GetDimensionValues",
    members=frozenset(
        {
            "SearchString",
            "TimePeriod",
            "Dimension",
            "Context",
            "Filter",
            "SortBy",
            "BillingViewArn",
            "MaxResults",
            "NextPageToken",
        }
    ),
    required=frozenset({"TimePeriod", "Dimension"}),
    response={"DimensionValues": list, "ReturnSize": int, "TotalSize": int},
    request={"TimePeriod": _period(), "Dimension": "SERVICE", "SearchString": "Bedrock"},
)
GET_COST_AND_USAGE = Contract(
    page="aws-cost-management/latest/APIReference/API_GetCostAndUsage.html",
    service="ce",
    target="AWSInsightsIndexService.GetCostAndUsage",
    members=frozenset({"TimePeriod", "Granularity", "Filter", "Metrics", "GroupBy", "BillingViewArn", "NextPageToken"}),
    required=frozenset({"TimePeriod", "Granularity", "Metrics"}),
    response={"ResultsByTime": list, "GroupDefinitions": list, "DimensionValueAttributes": list},
    request={
        "TimePeriod": _period(),
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
    },
)
CONTRACTS = {c.target: c for c in (LIST_METRICS, GET_METRIC_DATA, GET_DIMENSION_VALUES, GET_COST_AND_USAGE)}
CATALOGUE_PARAMS = {
    "/foundation-models": {"byProvider", "byCustomizationType", "byOutputModality", "byInferenceType"},
    "/inference-profiles": {"maxResults", "nextToken", "type"},
}
"""The URI request parameters of ListFoundationModels and ListInferenceProfiles (neither has a body)."""
CATALOGUE_RESPONSE = {"/foundation-models": "modelSummaries", "/inference-profiles": "inferenceProfileSummaries"}


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator()
    sim.add_bedrock_account(bedrock_account(ENTERPRISE, ACCOUNT, history_start=TODAY - timedelta(days=10)))
    with serve(sim) as running:
        yield running


def _settings(running: RunningSimulator) -> Settings:
    env = {k.lower(): v for k, v in running.aws_env().items()}
    return Settings(firebase_auth_emulator_host="127.0.0.1:9099", **env)  # type: ignore[arg-type]


def _credentials(running: RunningSimulator) -> AwsCredentials:
    external_id = running.sim.aws.account(ACCOUNT).external_id
    token = SecretStr(mint_identity_token(SUBJECT, external_id))

    async def go() -> AwsCredentials:
        async with httpx.AsyncClient() as http:
            session = await assume_role(
                http, _settings(running).aws_sts_url, f"arn:aws:iam::{ACCOUNT}:role/usage-tracking", token
            )
            return session.credentials

    return asyncio.run(go())


def _send(running: RunningSimulator, contract: Contract, body: dict[str, Any]) -> httpx.Response:
    settings = _settings(running)
    region = "us-east-1"
    url = (
        settings.aws_cloudwatch_url.replace("{region}", region)
        if contract.service == "monitoring"
        else (settings.aws_cost_explorer_url)
    )
    kind = "application/x-amz-json-1.0" if contract.service == "monitoring" else "application/x-amz-json-1.1"
    auth = SigV4Auth(_credentials(running), region=region, service=contract.service)
    headers = {"Content-Type": kind, "X-Amz-Target": contract.target}
    return httpx.post(url + "/", content=json.dumps(body), headers=headers, auth=auth, timeout=10)


@pytest.mark.parametrize("target", sorted(CONTRACTS))
def test_the_simulator_answers_the_documented_request_with_the_documented_elements(
    running: RunningSimulator, target: str
) -> None:
    contract = CONTRACTS[target]
    response = _send(running, contract, contract.request)
    assert response.status_code == 200, response.text
    body = response.json()
    for name, kind in contract.response.items():
        assert isinstance(body.get(name), kind), (contract.page, name)


@pytest.mark.parametrize(("target", "member"), [(c.target, m) for c in CONTRACTS.values() for m in sorted(c.required)])
def test_the_simulator_refuses_a_request_missing_a_required_member(
    running: RunningSimulator, target: str, member: str
) -> None:
    contract = CONTRACTS[target]
    response = _send(running, contract, {k: v for k, v in contract.request.items() if k != member})
    assert response.status_code == 400
    assert response.json()["__type"] in ("ValidationError", "ValidationException")


def test_the_simulator_refuses_unsigned_and_wrongly_scoped_requests(running: RunningSimulator) -> None:
    """General Reference, "Signature Version 4": the scope names the endpoint's region and service."""
    url = _settings(running).aws_cost_explorer_url + "/"
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": GET_COST_AND_USAGE.target}
    unsigned = httpx.post(url, json=GET_COST_AND_USAGE.request, headers=headers)
    assert (unsigned.status_code, unsigned.json()["__type"]) == (403, "MissingAuthenticationTokenException")
    auth = SigV4Auth(_credentials(running), region="eu-west-1", service="ce")
    scoped = httpx.post(url, json=GET_COST_AND_USAGE.request, headers=headers, auth=auth)
    assert (scoped.status_code, scoped.json()["__type"]) == (400, "InvalidSignatureException")


def _catalogue(running: RunningSimulator, path: str, params: dict[str, str], *, signed: bool = True) -> httpx.Response:
    url = _settings(running).aws_bedrock_url.replace("{region}", "us-east-1") + path
    auth = SigV4Auth(_credentials(running), region="us-east-1", service="bedrock") if signed else None
    return httpx.get(url, params=params, auth=auth, timeout=10)


@pytest.mark.parametrize("path", sorted(CATALOGUE_PARAMS))
def test_the_simulator_answers_the_catalogue_as_documented_and_refuses_what_the_docs_refuse(
    running: RunningSimulator, path: str
) -> None:
    """ListInferenceProfiles' maxResults is 1–1000 and ListFoundationModels' byInferenceType ON_DEMAND|PROVISIONED
    (API reference pages above); REST-JSON errors name their code in ``x-amzn-ErrorType``; SigV4 is required."""
    response = _catalogue(running, path, {})
    assert response.status_code == 200, response.text
    summaries = response.json()[CATALOGUE_RESPONSE[path]]
    assert summaries
    key = "modelId" if path == "/foundation-models" else "inferenceProfileId"
    assert all(isinstance(s[key], str) for s in summaries)
    bad = {"byInferenceType": "SOMETIMES"} if path == "/foundation-models" else {"maxResults": "1001"}
    refused = _catalogue(running, path, bad)
    assert (refused.status_code, refused.headers["x-amzn-ErrorType"]) == (400, "ValidationException")
    assert _catalogue(running, path, {}, signed=False).status_code == 403


def test_the_client_sends_only_documented_members(running: RunningSimulator) -> None:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async def go() -> None:
        async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
            source = BedrockUsage(
                connection(ENTERPRISE, ACCOUNT), settings=_settings(running), http=http, policy=POLICY
            )
            await source.validate()
            await source.pull(TODAY - timedelta(days=3), TODAY)

    asyncio.run(go())
    targets = set()
    for request in sent:
        target = request.headers.get("x-amz-target")
        if request.method == "GET":
            path = request.url.path.rsplit("/", 1)[-1]
            assert set(request.url.params) <= CATALOGUE_PARAMS["/" + path]
            assert not request.content
            targets.add(path)
            continue
        if target is None:
            assert set(dict(parse_qsl(request.content.decode()))) <= STS_MEMBERS
            continue
        contract = CONTRACTS[target]
        body = json.loads(request.content)
        assert set(body) <= contract.members, (contract.page, set(body) - contract.members)
        assert contract.required <= set(body)
        targets.add(target)
    assert targets == set(CONTRACTS) | {p.lstrip("/") for p in CATALOGUE_PARAMS}


# --- the client reads responses in the documented shapes ------------------------------------------------------

DAY = date(2026, 11, 18)
STS_EXAMPLE = """<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>100000000000000000001</SubjectFromWebIdentityToken>
    <Audience>100000000000000000001</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/usage-tracking/usage-tracking</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:usage-tracking</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2099-10-24T23:00:23Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>accounts.google.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"""
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
EXAMPLES: dict[str, dict[str, Any]] = {
    "GraniteServiceVersion20100801.ListMetrics": {
        "Metrics": [
            {"Namespace": "AWS/Bedrock", "MetricName": "InputTokenCount", "Dimensions": []},
            {
                "Namespace": "AWS/Bedrock",
                "MetricName": "InputTokenCount",
                "Dimensions": [{"Name": "ModelId", "Value": MODEL}],
            },
        ]
    },
    "GraniteServiceVersion20100801.GetMetricData": {
        "MetricDataResults": [
            {
                "Id": "m0_0",
                "Label": "InputTokenCount",
                "Timestamps": [_epoch(DAY)],
                "Values": [1000.0],
                "StatusCode": "Complete",
            },
            {
                "Id": "m0_1",
                "Label": "OutputTokenCount",
                "Timestamps": [_epoch(DAY)],
                "Values": [200.0],
                "StatusCode": "Complete",
            },
            {
                "Id": "m0_2",
                "Label": "CacheReadInputTokenCount",
                "Timestamps": [],
                "Values": [],
                "StatusCode": "Complete",
            },
            {
                "Id": "m0_3",
                "Label": "CacheWriteInputTokenCount",
                "Timestamps": [],
                "Values": [],
                "StatusCode": "Complete",
            },
            {
                "Id": "m0_4",
                "Label": "Invocations",
                "Timestamps": [_epoch(DAY)],
                "Values": [3.0],
                "StatusCode": "Complete",
            },
        ],
        "Messages": [],
    },
    "/foundation-models": {
        "modelSummaries": [
            {
                "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}",
                "modelId": MODEL,
                "modelName": "Claude 3.5 Sonnet",
                "providerName": "Anthropic",
                "inputModalities": ["TEXT", "IMAGE"],
                "outputModalities": ["TEXT"],
                "responseStreamingSupported": True,
                "customizationsSupported": [],
                "inferenceTypesSupported": ["ON_DEMAND"],
                "modelLifecycle": {"status": "ACTIVE"},
            }
        ]
    },
    "/inference-profiles": {
        "inferenceProfileSummaries": [
            {
                "inferenceProfileName": "US Anthropic Claude 3.5 Sonnet",
                "description": "Routes requests to Anthropic Claude 3.5 Sonnet in us-east-1 and us-west-2.",
                "createdAt": "2024-08-27T00:00:00Z",
                "updatedAt": "2024-08-27T00:00:00Z",
                "inferenceProfileArn": f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{MODEL}",
                "models": [{"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}"}],
                "inferenceProfileId": f"us.{MODEL}",
                "status": "ACTIVE",
                "type": "SYSTEM_DEFINED",
            }
        ]
    },
    "AWSInsightsIndexService.GetDimensionValues": {
        "DimensionValues": [{"Value": "Amazon Bedrock", "Attributes": {}}],
        "ReturnSize": 1,
        "TotalSize": 1,
    },
    "AWSInsightsIndexService.GetCostAndUsage": {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-11-18", "End": "2026-11-19"},
                "Total": {},
                "Groups": [
                    {
                        "Keys": ["USE1-Claude3.5Sonnet-input-tokens"],
                        "Metrics": {"UnblendedCost": {"Amount": "0.0027", "Unit": "USD"}},
                    },
                    {
                        "Keys": ["USE1-Claude3.5Sonnet-output-tokens"],
                        "Metrics": {"UnblendedCost": {"Amount": "0.0027", "Unit": "USD"}},
                    },
                ],
                "Estimated": True,
            }
        ],
        "DimensionValueAttributes": [],
    },
}


def test_the_client_reads_the_documented_shapes() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        target = request.headers.get("x-amz-target")
        if request.method == "GET":
            return httpx.Response(200, json=EXAMPLES["/" + request.url.path.rsplit("/", 1)[-1]])
        if target is None:
            return httpx.Response(200, text=STS_EXAMPLE, headers={"Content-Type": "text/xml"})
        return httpx.Response(200, json=EXAMPLES[target])

    async def token(audience: str) -> SecretStr:
        return SecretStr("header.payload.signature")

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            source = BedrockUsage(
                connection(ENTERPRISE, regions=("us-east-1",)),
                settings=Settings(),
                http=http,
                policy=POLICY,
                identity=token,
            )
            identity = await source.validate()
            return identity, await source.pull(DAY, DAY + timedelta(days=1))

    identity, pull = asyncio.run(go())
    assert identity.org_id == "123456789012"
    day = pull.days[DAY]
    assert day.cost_source is CostSource.BILLED
    assert (day.totals.input_tokens, day.totals.output_tokens) == (1000, 200)
    assert str(day.billed_usd) == "0.0054"
    assert [(m.meter, m.quantity) for m in day.meters] == [("invocations", 3)]
    assert day.reconciliation is not None
    assert day.reconciliation.list_usd == day.list_usd  # Bedrock's list price of the model in us-east-1
