"""Amazon Bedrock's AWS surfaces, mounted at ``/aws``: STS, CloudWatch (per region) and Cost Explorer (Bedrock's
own model catalogue is ``aws_bedrock_routes``).

Each rule enforced here is a documented one:

* ``POST /aws/sts`` — ``AssumeRoleWithWebIdentity`` (STS API Reference, API_AssumeRoleWithWebIdentity): form
  parameters ``Action``, ``Version=2011-06-15``, ``RoleArn``, ``RoleSessionName`` (``[\\w+=,.@-]{2,64}``),
  ``WebIdentityToken``, optional ``DurationSeconds`` (900–43200); a missing one is ``MissingParameter`` and a bad
  one ``ValidationError`` (Common Errors). The token must be an ``accounts.google.com`` token not yet expired
  (``InvalidIdentityToken`` / ``ExpiredTokenException``); the role must exist and its trust policy's
  ``accounts.google.com:aud`` (the token's ``azp``), ``:sub`` and ``:oaud`` (its ``aud``) conditions hold
  (IAM User Guide, "Available keys for AWS web identity federation"), else ``AccessDenied`` — the same answer for
  every failed condition, as AWS gives. Answers are the documented XML, errors an ``ErrorResponse``.
  Local mode's tokens are unsigned (as Cloud Tasks' are locally); the simulator checks claims, not signatures.
* ``POST /aws/monitoring/{region}/`` and ``POST /aws/ce/`` — the AWS JSON protocol: ``X-Amz-Target``
  ``GraniteServiceVersion20100801.<Op>`` with ``application/x-amz-json-1.0`` (CloudWatch) or
  ``AWSInsightsIndexService.<Op>`` with ``application/x-amz-json-1.1`` (Cost Explorer), every request SigV4-signed
  (General Reference, "Signature Version 4"): ``Authorization`` with a credential scoped to the endpoint's region
  and service, ``host`` and ``x-amz-date`` signed, ``X-Amz-Date`` within 5 minutes, a session's
  ``X-Amz-Security-Token``; failures are ``MissingAuthenticationTokenException``, ``IncompleteSignatureException``,
  ``InvalidSignatureException``, ``UnrecognizedClientException`` or ``ExpiredTokenException``. Errors are
  ``{"__type": …, "message": …}``.
* ``ListMetrics`` returns metrics with data in the last two weeks only (its documented behaviour), 500 a page.
  ``GetMetricData`` takes 1–500 queries with unique ids matching ``^[a-z][a-zA-Z0-9_]*$`` and a ``Period`` that is a
  multiple of 60, and pages by ``NextToken`` (at most 100,800 datapoints a page); timestamps are epoch seconds,
  newest first unless ``ScanBy`` is ``TimestampAscending``.
* ``GetCostAndUsage`` requires ``TimePeriod`` (``Start`` < ``End``, ``YYYY-MM-DD``, ``End`` exclusive),
  ``Granularity`` and ``Metrics``; at most two ``GroupBy``; pages by ``NextPageToken``. An account that never
  enabled Cost Explorer answers ``AccessDeniedException`` "User not enabled for cost explorer access".
  ``GetDimensionValues`` requires ``TimePeriod`` and ``Dimension``.
* A missing IAM action answers ``AccessDenied[Exception]`` "… is not authorized to perform: <action> …".
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devstack.provider_sim import aws_data
from devstack.provider_sim.aws_auth import Refused, assume_role, authenticate, denied, json_error, target
from devstack.provider_sim.aws_bedrock_routes import catalogue
from devstack.provider_sim.aws_data import BedrockAccount
from devstack.provider_sim.aws_s3_routes import handle as s3
from devstack.provider_sim.aws_state import AwsSim, Session
from devstack.provider_sim.models import RequestRecord
from devstack.provider_sim.simulator import ProviderSimulator, fingerprint

_QUERY_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")
_AUTH_KEY = re.compile(r"Credential=([A-Z0-9]+)/")
LISTED_DAYS = 14


# --- CloudWatch --------------------------------------------------------------------------------------------------

CW_TYPE = "application/x-amz-json-1.0"


def cloudwatch(
    sim: ProviderSimulator, account: BedrockAccount, session: Session, region: str, op: str, body: Any
) -> Response:
    if op == "ListMetrics":
        denied(account, session, "cloudwatch:ListMetrics", ce=False)
        return _list_metrics(sim, account, region, body)
    if op == "GetMetricData":
        denied(account, session, "cloudwatch:GetMetricData", ce=False)
        return _metric_data(sim, account, region, body)
    raise Refused(json_error(400, "UnknownOperationException", "", CW_TYPE))


def _list_metrics(sim: ProviderSimulator, account: BedrockAccount, region: str, body: dict[str, Any]) -> Response:
    today = sim.now().date()
    recent = aws_data.days_between(today - timedelta(days=LISTED_DAYS), today + timedelta(days=1))
    active = {md.model.model_id for d in recent for md in aws_data.model_days(account, d) if md.region == region}
    metrics: list[dict[str, Any]] = []
    if body.get("Namespace") in (None, aws_data.NAMESPACE) and region in account.regions and active:
        names = [body["MetricName"]] if body.get("MetricName") else [*aws_data.METRIC_OF.values(), "Invocations"]
        for name in names:
            metrics.append({"Namespace": aws_data.NAMESPACE, "MetricName": name, "Dimensions": []})
            metrics += [
                {"Namespace": aws_data.NAMESPACE, "MetricName": name, "Dimensions": [{"Name": "ModelId", "Value": m}]}
                for m in sorted(active)
            ]
    offset = int(body.get("NextToken") or 0)
    page = metrics[offset : offset + 500]
    out: dict[str, Any] = {"Metrics": page}
    if offset + 500 < len(metrics):
        out["NextToken"] = str(offset + 500)
    return Response(json.dumps(out), 200, media_type=CW_TYPE)


def _metric_data(sim: ProviderSimulator, account: BedrockAccount, region: str, body: dict[str, Any]) -> Response:
    queries = body.get("MetricDataQueries")
    if (
        not isinstance(queries, list)
        or not 1 <= len(queries) <= 500
        or "StartTime" not in body
        or "EndTime" not in body
    ):
        raise Refused(
            json_error(400, "ValidationError", "MetricDataQueries, StartTime and EndTime are required", CW_TYPE)
        )
    ids = [q.get("Id") for q in queries]
    if len(set(ids)) != len(ids) or not all(isinstance(i, str) and _QUERY_ID.fullmatch(i) for i in ids):
        raise Refused(json_error(400, "ValidationError", "The value for Id is not valid", CW_TYPE))
    start = datetime.fromtimestamp(float(body["StartTime"]), UTC)
    end = datetime.fromtimestamp(float(body["EndTime"]), UTC)
    series = []
    for q in queries:
        stat = q.get("MetricStat") or {}
        period = int(stat.get("Period") or 0)
        if period <= 0 or period % 60:
            raise Refused(
                json_error(400, "InvalidParameterValue", "The parameter Period must be a multiple of 60", CW_TYPE)
            )
        series.append((q["Id"], _points(account, region, stat, start, end, body.get("ScanBy"))))
    # Page by datapoints: a page may end inside a series, which the next page continues (same Id).
    offset = int(body.get("NextToken") or 0)
    flat: list[tuple[str, float | None, float | None]] = [(qid, t, v) for qid, points in series for t, v in points]
    flat = flat or [(qid, None, None) for qid, _ in series]
    page = flat[offset : offset + sim.aws.datapoints_per_page]
    results: dict[str, dict[str, Any]] = {}
    for qid, t, v in page:
        result = results.setdefault(
            qid, {"Id": qid, "Label": qid, "Timestamps": [], "Values": [], "StatusCode": "Complete"}
        )
        if t is not None:
            result["Timestamps"].append(t)
            result["Values"].append(v)
    out: dict[str, Any] = {"MetricDataResults": list(results.values()), "Messages": []}
    if offset + sim.aws.datapoints_per_page < len(flat):
        out["NextToken"] = str(offset + sim.aws.datapoints_per_page)
    return Response(json.dumps(out), 200, media_type=CW_TYPE)


def _points(
    account: BedrockAccount, region: str, stat: dict[str, Any], start: datetime, end: datetime, scan_by: str | None
) -> list[tuple[float, float]]:
    metric = stat.get("Metric") or {}
    dims = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions") or []}
    model_id, name = dims.get("ModelId"), metric.get("MetricName")
    if metric.get("Namespace") != aws_data.NAMESPACE or model_id is None or stat.get("Stat") != "Sum":
        return []
    points = []
    for day in aws_data.days_between(start.date(), end.date()):
        for md in aws_data.model_days(account, day):
            if md.region != region or md.model.model_id != model_id:
                continue
            kind = next((k for k, m in aws_data.METRIC_OF.items() if m == name), None)
            value = md.invocations if name == "Invocations" else md.tokens.get(kind or "", 0)
            if value:
                points.append((datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp(), float(value)))
    return points if scan_by == "TimestampAscending" else points[::-1]


# --- Cost Explorer -----------------------------------------------------------------------------------------------

CE_TYPE = "application/x-amz-json-1.1"


def cost_explorer(sim: ProviderSimulator, account: BedrockAccount, session: Session, op: str, body: Any) -> Response:
    if op not in ("GetCostAndUsage", "GetDimensionValues"):
        raise Refused(json_error(400, "UnknownOperationException", ""))
    denied(account, session, f"ce:{op}", ce=True)
    if not account.cost_explorer_enabled:
        raise Refused(json_error(400, "AccessDeniedException", "User not enabled for cost explorer access"))
    start, end = _period(body)
    if op == "GetDimensionValues":
        if body.get("Dimension") != "SERVICE":
            raise Refused(json_error(400, "ValidationException", "Dimension is required"))
        search = str(body.get("SearchString") or "").lower()
        values = [v for v in ("Amazon Bedrock", "Claude 3.5 Sonnet (Amazon Bedrock Edition)") if search in v.lower()]
        found = {
            "DimensionValues": [{"Value": v, "Attributes": {}} for v in values],
            "ReturnSize": len(values),
            "TotalSize": len(values),
        }
        return Response(json.dumps(found), 200, media_type=CE_TYPE)
    if not body.get("Granularity") or not body.get("Metrics") or len(body.get("GroupBy") or []) > 2:
        raise Refused(json_error(400, "ValidationException", "Granularity and Metrics are required; at most 2 GroupBy"))
    days = aws_data.days_between(start, end)
    offset = int(body.get("NextPageToken") or 0)
    chunk = days[offset : offset + sim.aws.days_per_page]
    results = []
    for day in chunk:
        groups = [
            {"Keys": [usage], "Metrics": {"UnblendedCost": {"Amount": _amount(amount), "Unit": "USD"}}}
            for usage, amount in sorted(aws_data.bill(account, day).items())
        ]
        period = {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}
        results.append({"TimePeriod": period, "Total": {}, "Groups": groups, "Estimated": day >= sim.now().date()})
    out: dict[str, Any] = {
        "ResultsByTime": results,
        "DimensionValueAttributes": [],
        "GroupDefinitions": body.get("GroupBy") or [],
    }
    if offset + sim.aws.days_per_page < len(days):
        out["NextPageToken"] = str(offset + sim.aws.days_per_page)
    return Response(json.dumps(out), 200, media_type=CE_TYPE)


def _period(body: dict[str, Any]) -> tuple[date, date]:
    period = body.get("TimePeriod") or {}
    try:
        start, end = date.fromisoformat(period["Start"]), date.fromisoformat(period["End"])
    except (KeyError, TypeError, ValueError):
        raise Refused(json_error(400, "ValidationException", "TimePeriod Start and End are required")) from None
    if start >= end:
        raise Refused(json_error(400, "ValidationException", "Start date must be before end date"))
    return start, end


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


# --- routes ------------------------------------------------------------------------------------------------------


def _endpoint(
    sim: ProviderSimulator, handle: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """Faults first (an overload is AWS's ``ThrottlingException``/``Throttling``, HTTP 400; a server error is the
    knob's 5xx), then the handler; every request is logged with a fingerprint of the access key id that signed it."""

    async def run(request: Request) -> Response:
        decision = sim.decide_faults("bedrock")
        if decision.delay_s:
            await asyncio.sleep(decision.delay_s)
        if decision.status == 429:
            response = json_error(400, "ThrottlingException", "Rate exceeded")
        elif decision.status is not None:
            response = json_error(decision.status, "InternalFailure", "The request processing has failed")
        else:
            try:
                response = await handle(request)
            except Refused as e:
                response = e.response
        signer = _AUTH_KEY.search(request.headers.get("authorization", ""))
        path = request.url.path
        sim.record(
            RequestRecord(
                provider="bedrock",
                method=request.method,
                path=path[path.index("/aws") + len("/aws") :] if "/aws" in path else path,
                query={"target": [request.headers.get("x-amz-target", "")]},
                status=response.status_code,
                key_fingerprint=fingerprint(signer[1]) if signer else None,
                at=sim.now(),
            )
        )
        return response

    return run


def routes(sim: ProviderSimulator) -> list[Route]:
    async def sts(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        return assume_role(sim, form)

    async def monitoring(request: Request) -> Response:
        region = request.path_params["region"]
        body = await request.body()
        session = await authenticate(sim, request, region, "monitoring", body)
        op = target(request, "GraniteServiceVersion20100801", CW_TYPE)
        return cloudwatch(sim, sim.aws.account(session.account_id), session, region, op, _json(body))

    async def ce(request: Request) -> Response:
        body = await request.body()
        session = await authenticate(sim, request, "us-east-1", "ce", body)
        op = target(request, "AWSInsightsIndexService", CE_TYPE)
        return cost_explorer(sim, sim.aws.account(session.account_id), session, op, _json(body))

    async def foundation_models(request: Request) -> Response:
        return await catalogue(sim, request, "foundation-models")

    async def profiles(request: Request) -> Response:
        return await catalogue(sim, request, "inference-profiles")

    async def bucket(request: Request) -> Response:
        return await s3(sim, request)

    return [
        Route("/sts", _endpoint(sim, sts), methods=["POST"]),
        Route("/s3/{region}/{bucket}", _endpoint(sim, bucket), methods=["GET"]),
        Route("/s3/{region}/{bucket}/{key:path}", _endpoint(sim, bucket), methods=["GET"]),
        Route("/bedrock/{region}/foundation-models", _endpoint(sim, foundation_models), methods=["GET"]),
        Route("/bedrock/{region}/inference-profiles", _endpoint(sim, profiles), methods=["GET"]),
        Route("/monitoring/{region}/", _endpoint(sim, monitoring), methods=["POST"]),
        Route("/ce/", _endpoint(sim, ce), methods=["POST"]),
    ]


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        raise Refused(json_error(400, "SerializationException", "")) from None
    if not isinstance(parsed, dict):
        raise Refused(json_error(400, "SerializationException", ""))
    return parsed


__all__ = ["AwsSim", "routes"]
