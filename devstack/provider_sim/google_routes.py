"""Google's surfaces, mounted at ``/google``: the OAuth token endpoint, Cloud Monitoring and BigQuery.

* ``POST /google/token``: the JWT-bearer grant. The assertion's RS256 signature is verified (google-auth) against
  the public key of the service-account key its header names, its audience must be this very URL, its issuer the
  key's account. Unknown, deleted or disabled keys and bad signatures: 400 ``invalid_grant``; a disabled account: 401.
* ``GET /google/monitoring/v3/projects/{p}/timeSeries`` (``timeSeries.list``): one exact ``metric.type`` per filter
  and the other rules of ``google_contract`` (400 otherwise), daily ``ALIGN_SUM``, ``REDUCE_SUM`` by
  ``groupByFields``, points newest first in every documented interval shape with ``int64Value`` strings, pages
  through ``nextPageToken``. 404 for a project that does not exist, 403 for one the account may not read.

Every method checks the token's scopes against its documented list (``google_contract``).
* ``POST /google/bigquery/bigquery/v2/projects/{p}/queries`` (``jobs.query``) and ``GET .../queries/{job}``
  (``getQueryResults``): the billing export query, answered from the query's named parameters (the SQL text is not
  executed; its table must be the billing account's export), rows in BigQuery's f/v encoding, ``jobComplete: false``
  for ``pending_polls`` polls, pages through ``pageToken``, ``requestId`` idempotency, ``dryRun``.

Fault knobs (``Faults`` with ``provider="google"`` or ``None``) apply to every request, as for the other providers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from google.auth import exceptions as google_exceptions
from google.auth import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devstack.provider_sim import google_data
from devstack.provider_sim.gateway import json_response
from devstack.provider_sim.google_contract import (
    BIGQUERY,
    JOBS_QUERY_SCOPES,
    MONITORING,
    MONITORING_SCOPES,
    QUERY_RESULTS_SCOPES,
    api_error,
    scope_insufficient,
    service_disabled,
    single_metric_type,
    time_series_problem,
)
from devstack.provider_sim.google_state import Grant, Job
from devstack.provider_sim.jsonio import plain
from devstack.provider_sim.models import RequestRecord
from devstack.provider_sim.params import QueryArgs
from devstack.provider_sim.simulator import ProviderSimulator, fingerprint

MALFORMED = "not-a-number"
SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and "
    "exp values in the JWT claim."
)
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_TABLE = re.compile(r"FROM\s+`([^`]+)`", re.IGNORECASE)


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


Handler = Callable[[Request], Awaitable[tuple[Response, str | None]]]


def _endpoint(sim: ProviderSimulator, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Faults, then the handler; every request is logged with a fingerprint of the key id (never a credential)."""

    async def run(request: Request) -> Response:
        decision = sim.decide_faults("google")
        if decision.delay_s:
            await asyncio.sleep(decision.delay_s)
        key_id: str | None = None
        if decision.status == 429:
            response = api_error(429, "Quota exceeded for quota metric 'Read requests'.", "rateLimitExceeded")
            if decision.retry_after_s is not None:
                response.headers["Retry-After"] = str(decision.retry_after_s)
        elif decision.status is not None:
            response = api_error(decision.status, "The service is currently unavailable.", "backendError")
        else:
            try:
                response, key_id = await handler(request)
            except Refused as e:
                response = e.response
        path = request.url.path
        sim.record(
            RequestRecord(
                provider="google",
                method=request.method,
                path=path[path.index("/google") + len("/google") :] if "/google" in path else path,
                query=QueryArgs(request.query_params.multi_items(), plain_arrays=True).multi,
                status=response.status_code,
                key_fingerprint=fingerprint(key_id),
                at=sim.now(),
            )
        )
        return response

    return run


# --- OAuth ------------------------------------------------------------------------------------------------------


def token_handler(sim: ProviderSimulator) -> Handler:
    async def handle(request: Request) -> tuple[Response, str | None]:
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        if form.get("grant_type") != GRANT_TYPE:
            return oauth_error(400, "unsupported_grant_type", "Invalid grant_type."), None
        assertion = form.get("assertion", "")
        try:
            header = jwt.decode_header(assertion)
        except (ValueError, google_exceptions.GoogleAuthError):
            return oauth_error(400, "invalid_grant", "Invalid JWT."), None
        key_id = header.get("kid") if isinstance(header, dict) else None
        key = sim.google.find_key(str(key_id)) if key_id else None
        if key is None or key.disabled:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature."), key_id
        audience = str(request.url.replace(query=""))
        try:
            claims = jwt.decode(
                assertion, certs={key.key_id: key.public_pem}, audience=audience, clock_skew_in_seconds=30
            )
        except (ValueError, google_exceptions.GoogleAuthError) as e:
            timing = any(w in str(e) for w in ("too early", "expired"))  # google-auth's words for iat/exp
            return oauth_error(400, "invalid_grant", SHORT_LIVED if timing else "Invalid JWT Signature."), key_id
        if claims.get("iss") != key.email:
            return oauth_error(400, "invalid_grant", "Invalid JWT Signature."), key_id
        if int(claims.get("exp", 0)) - int(claims.get("iat", 0)) > 3600:
            return oauth_error(400, "invalid_grant", SHORT_LIVED), key_id
        if sim.google.account_disabled(key.email):
            return oauth_error(401, "disabled_client", "The OAuth client was disabled."), key_id
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            return oauth_error(400, "invalid_scope", "Empty or missing scope not allowed."), key_id
        token, expires_in = sim.google.issue_token(key, scopes)
        return json_response({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}), key_id

    return handle


def _grant(sim: ProviderSimulator, request: Request, scopes: frozenset[str], api: tuple[str, str, str]) -> Grant:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    grant = sim.google.grant(token.strip() if scheme.lower() == "bearer" else None)
    if grant is None:
        message = (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
            "valid authentication credential."
        )
        raise Refused(api_error(401, message))
    if not grant.scopes & scopes:
        raise Refused(scope_insufficient(api))
    return grant


# --- Cloud Monitoring --------------------------------------------------------------------------------------------

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
"""(metric type, resource type, resource labels, metric labels)."""


def monitoring_handler(sim: ProviderSimulator) -> Handler:
    async def handle(request: Request) -> tuple[Response, str | None]:
        grant = _grant(sim, request, MONITORING_SCOPES, MONITORING)
        return await asyncio.to_thread(_time_series, sim, grant, request), grant.key_id

    return handle


def _time_series(sim: ProviderSimulator, grant: Grant, request: Request) -> Response:
    org = sim.google.org(grant.org_id)
    project_id = request.path_params["project"]
    account = next(a for a in org.accounts if org.email(a.name) == grant.email)
    projects = {p.project_id: p for p in org.projects}
    if project_id not in projects:
        return api_error(404, f"Requested entity was not found: projects/{project_id}.")
    if sim.faults.google_disabled_api == "monitoring":
        return service_disabled(MONITORING, project_id)
    if sim.faults.google_denied == "monitoring" or project_id in account.monitoring_denied:
        return api_error(403, "Permission monitoring.timeSeries.list denied (or the resource may not exist).")
    args = QueryArgs(request.query_params.multi_items(), plain_arrays=True)
    if (problem := time_series_problem(args)) is not None:
        return problem
    wanted = single_metric_type(args.one("filter"))
    if wanted is not None and wanted == sim.faults.google_refused_metric:
        return api_error(400, f"Field filter had an invalid value: metric type {wanted} is not queryable.")
    try:
        end = datetime.fromisoformat(str(args.one("interval.endTime")))
        start = datetime.fromisoformat(str(args.one("interval.startTime") or args.one("interval.endTime")))
    except ValueError:
        return api_error(400, "Field interval had an invalid value.", "badRequest")
    if args.one("view") == "HEADERS":
        return json_response({})
    if args.one("aggregation.alignmentPeriod") != "86400s" or args.one("aggregation.perSeriesAligner") != "ALIGN_SUM":
        return api_error(400, "The simulator only serves daily ALIGN_SUM aggregations.", "badRequest")
    raw = _raw_series(sim, org, projects[project_id], start.astimezone(UTC), end.astimezone(UTC), str(wanted))
    reducer = args.one("aggregation.crossSeriesReducer")
    grouped = _reduce(raw, args.many("aggregation.groupByFields")) if reducer == "REDUCE_SUM" else raw
    return _series_page(sim, args, grouped)


def _raw_series(
    sim: ProviderSimulator, org: Any, project: Any, start: datetime, end: datetime, metric_type: str
) -> dict[SeriesKey, dict[date, int]]:
    series: dict[SeriesKey, dict[date, int]] = {}
    now = sim.now()
    day = start.date()
    while datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1) <= end and day <= now.date():
        for key, value in _day_series(project, google_data.monitored(org, project, day, now)):
            if value and key[0] == metric_type:
                series.setdefault(key, {})[day] = series.get(key, {}).get(day, 0) + value
        day += timedelta(days=1)
    return series


def _day_series(project: Any, usage: list[tuple[str, int, int]]) -> Iterable[tuple[SeriesKey, int]]:
    pid = project.project_id
    resource: tuple[tuple[str, str], ...]
    metric: tuple[tuple[str, str], ...]
    for model, tokens_in, tokens_out in usage:
        if project.api == "vertex_ai":
            for kind, total in (("input", tokens_in), ("output", tokens_out)):
                first = int(total * google_data.REGIONS[0][1])
                for (region, _share), value in zip(google_data.REGIONS, (first, total - first), strict=True):
                    resource = (("location", region), ("model_user_id", model), ("publisher", "google"))
                    resource += (("resource_container", pid),)
                    metric = (("request_type", "shared"), ("type", kind))
                    yield (
                        (google_data.VERTEX_METRIC, "aiplatform.googleapis.com/PublisherModel", resource, metric),
                        value,
                    )
        else:
            resource = (("location", "global"), ("project_id", pid), ("service", "generativelanguage.googleapis.com"))
            for limit in google_data.QUOTA_LIMITS:  # the same usage once per quota limit
                metric = (("limit_name", limit), ("method", "v1beta.GenerateContent"), ("model", model))
                yield (google_data.GEMINI_API_INPUT_METRIC, "consumer_quota", resource, metric), tokens_in
            yield (google_data.GEMINI_API_OUTPUT_METRIC, "consumed_api", resource, (("model", model),)), tokens_out


def _reduce(raw: dict[SeriesKey, dict[date, int]], fields: list[str]) -> dict[SeriesKey, dict[date, int]]:
    out: dict[SeriesKey, dict[date, int]] = {}
    for (metric_type, resource_type, resource, metric), points in raw.items():
        keep_resource = tuple((k, v) for k, v in resource if f"resource.label.{k}" in fields)
        keep_metric = tuple((k, v) for k, v in metric if f"metric.label.{k}" in fields)
        key = (metric_type, resource_type, keep_resource, keep_metric)  # the type is always kept
        target = out.setdefault(key, {})
        for day, value in points.items():
            target[day] = target.get(day, 0) + value
    return out


def _series_page(sim: ProviderSimulator, args: QueryArgs, series: dict[SeriesKey, dict[date, int]]) -> Response:
    ordered = sorted(series.items())
    fingerprint_of_query = _query_hash(args)
    offset: int | None = 0
    if token := args.one("pageToken"):
        offset = _read_page_token(token, fingerprint_of_query)
    if offset is None:
        return api_error(400, "Invalid page token.", "badRequest")
    page_size = int(args.one("pageSize") or 100_000)
    chosen: list[dict[str, Any]] = []
    points = 0
    index = offset
    while index < len(ordered) and len(chosen) < sim.google.series_per_page:
        key, values = ordered[index]
        if chosen and points + len(values) > page_size:
            break
        chosen.append(_series_json(sim, key, values, POINT_SHAPES[index % len(POINT_SHAPES)]))
        points += len(values)
        index += 1
    body: dict[str, Any] = {"timeSeries": chosen} if chosen else {}
    if index < len(ordered):
        body["nextPageToken"] = _page_token(index, fingerprint_of_query)
    return json_response(body)


POINT_SHAPES = ("delta", "end_only", "instant")
"""How a point's ``interval`` is written, one shape per series in turn. ``TimeInterval``
(cloud.google.com/monitoring/api/ref_v3/rest/v3/TimeInterval): a DELTA point spans (start, end]; ``startTime`` is
optional and "defaults to the value of the end time"; the page does not promise which shape an aligned sum takes, so
every shape is served and a client must place a point by its end alone."""


def _interval(shape: str, end: datetime) -> dict[str, str]:
    if shape == "end_only":
        return {"endTime": _rfc3339(end)}
    if shape == "instant":
        stamp = end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # RFC 3339 with a fraction, as Google also writes times
        return {"startTime": stamp, "endTime": stamp}
    return {"startTime": _rfc3339(end - timedelta(days=1)), "endTime": _rfc3339(end)}


def _series_json(sim: ProviderSimulator, key: SeriesKey, values: dict[date, int], shape: str) -> dict[str, Any]:
    metric_type, resource_type, resource, metric = key
    metric_json: dict[str, Any] = {"labels": dict(metric)}
    if metric_type:
        metric_json["type"] = metric_type
    points = []
    for day in sorted(values, reverse=True):  # newest first, as Cloud Monitoring sends them
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        malformed = sim.is_malformed("google", "timeSeries", day)
        points.append(
            {
                "interval": _interval(shape, start + timedelta(days=1)),
                "value": {"int64Value": MALFORMED if malformed else str(values[day])},
            }
        )
    return {
        "metric": metric_json,
        "resource": {"type": resource_type, "labels": dict(resource)},
        "metricKind": "DELTA",
        "valueType": "INT64",
        "points": points,
    }


def _rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _query_hash(args: QueryArgs) -> str:
    items = sorted((k, v) for k, vs in args.multi.items() if k != "pageToken" for v in vs)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:12]


def _page_token(offset: int, query: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": query}).encode()).decode()


def _read_page_token(token: str, query: str) -> int | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(decoded, dict) or decoded.get("q") != query or not isinstance(decoded.get("o"), int):
        return None
    return int(decoded["o"])


# --- BigQuery ----------------------------------------------------------------------------------------------------

_CREDIT_FIELDS = ("name", "amount", "full_name", "id", "type")
SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "usage_start_time", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "project_id", "type": "STRING", "mode": "NULLABLE"},
        {"name": "service", "type": "STRING", "mode": "NULLABLE"},
        {"name": "sku_id", "type": "STRING", "mode": "NULLABLE"},
        {"name": "sku_description", "type": "STRING", "mode": "NULLABLE"},
        {"name": "cost", "type": "FLOAT", "mode": "NULLABLE"},
        {"name": "currency", "type": "STRING", "mode": "NULLABLE"},
        {"name": "currency_conversion_rate", "type": "FLOAT", "mode": "NULLABLE"},
        {"name": "cost_type", "type": "STRING", "mode": "NULLABLE"},
        {"name": "usage_amount", "type": "FLOAT", "mode": "NULLABLE"},
        {"name": "usage_unit", "type": "STRING", "mode": "NULLABLE"},
        {
            "name": "credits",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [
                {"name": n, "type": "FLOAT" if n == "amount" else "STRING", "mode": "NULLABLE"} for n in _CREDIT_FIELDS
            ],
        },
    ]
}


def query_handler(sim: ProviderSimulator) -> Handler:
    async def handle(request: Request) -> tuple[Response, str | None]:
        grant = _grant(sim, request, JOBS_QUERY_SCOPES, BIGQUERY)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return api_error(400, "Invalid JSON payload received.", "invalid"), grant.key_id
        return await asyncio.to_thread(_query, sim, grant, request.path_params["project"], body), grant.key_id

    return handle


def results_handler(sim: ProviderSimulator) -> Handler:
    async def handle(request: Request) -> tuple[Response, str | None]:
        grant = _grant(sim, request, QUERY_RESULTS_SCOPES, BIGQUERY)
        job = sim.google.job(request.path_params["job_id"])
        if job is None or job.org_id != grant.org_id or job.project_id != request.path_params["project"]:
            return api_error(404, f"Not found: Job {request.path_params['job_id']}", "notFound"), grant.key_id
        args = QueryArgs(request.query_params.multi_items(), plain_arrays=True)
        reference = {"projectId": job.project_id, "jobId": job.job_id, "location": "US"}
        if not sim.google.poll(job):
            body = {"kind": "bigquery#getQueryResultsResponse", "jobReference": reference, "jobComplete": False}
            return json_response(body), grant.key_id
        token = args.one("pageToken")
        offset = _read_page_token(token, job.job_id) if token else 0
        if offset is None:
            return api_error(400, "Invalid page token.", "invalid"), grant.key_id
        page = _rows_page(
            sim, job, offset, int(args.one("maxResults") or 100_000), args.one("formatOptions.useInt64Timestamp")
        )
        return json_response(
            {"kind": "bigquery#getQueryResultsResponse", "jobReference": reference, **page}
        ), grant.key_id

    return handle


def _query(sim: ProviderSimulator, grant: Grant, project_id: str, body: dict[str, Any]) -> Response:
    org = sim.google.org(grant.org_id)
    account = next(a for a in org.accounts if org.email(a.name) == grant.email)
    if sim.faults.google_disabled_api == "bigquery":
        return service_disabled(BIGQUERY, project_id)
    found = _TABLE.search(str(body.get("query", "")))
    table = found.group(1) if found else None
    if table is None or table != org.billing_table:
        return api_error(404, f"Not found: Table {table} was not found in location US", "notFound")
    if sim.faults.google_denied == "billing" or account.billing_denied:
        return api_error(
            403, f"Access Denied: Table {table}: User does not have permission to query table.", "accessDenied"
        )
    if project_id != table.split(".", 1)[0]:
        return api_error(
            403, f"User does not have bigquery.jobs.create permission in project {project_id}.", "accessDenied"
        )
    try:
        params = _parameters(body)
        start, end = params["start"], params["end"]
        projects, services = params["projects"], params["services"]
    except (KeyError, ValueError, TypeError):
        return api_error(400, "Query parameters are missing or malformed.", "invalidQuery")
    reference = {"projectId": project_id, "jobId": f"job_sim_{uuid.uuid4().hex[:20]}", "location": "US"}
    if body.get("dryRun"):
        return json_response(
            {
                "kind": "bigquery#queryResponse",
                "jobReference": reference,
                "jobComplete": True,
                "schema": SCHEMA,
                "totalBytesProcessed": "123456",
                "cacheHit": False,
            }
        )
    rows = []
    now = sim.now()
    for project in (p for p in org.projects if p.project_id in projects):
        day = start.date()
        while day < end.date() + timedelta(days=1) and day <= now.date():
            for row in google_data.billing_rows(org, project, day, now):
                if row.service in services and start <= row.usage_start < end:
                    rows.append(row)
            day += timedelta(days=1)
    rows.sort(key=lambda r: (r.usage_start, r.project_id, r.sku_id))
    encoded = [_encode_row(sim, org, r) for r in rows]
    job = sim.google.add_job(
        Job(reference["jobId"], project_id, org.org_id, SCHEMA, encoded, org.pending_polls, body.get("requestId"))
    )
    reference["jobId"] = job.job_id
    if not sim.google.poll(job):
        return json_response({"kind": "bigquery#queryResponse", "jobReference": reference, "jobComplete": False})
    timestamps = (body.get("formatOptions") or {}).get("useInt64Timestamp")
    page = _rows_page(sim, job, 0, int(body.get("maxResults") or 100_000), "true" if timestamps else None)
    return json_response({"kind": "bigquery#queryResponse", "jobReference": reference, **page})


def _parameters(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in body.get("queryParameters") or []:
        kind = param["parameterType"]["type"]
        if kind == "TIMESTAMP":
            out[param["name"]] = datetime.fromisoformat(param["parameterValue"]["value"]).astimezone(UTC)
        elif kind == "ARRAY":
            out[param["name"]] = {v["value"] for v in param["parameterValue"]["arrayValues"]}
    return out


def _rows_page(sim: ProviderSimulator, job: Job, offset: int, max_results: int, int64: str | None) -> dict[str, Any]:
    size = max(1, min(max_results, sim.google.rows_per_page))
    chosen = job.rows[offset : offset + size]
    page: dict[str, Any] = {
        "schema": job.schema,
        "totalRows": str(len(job.rows)),
        "rows": [_timestamps(r, int64 == "true") for r in chosen],
        "jobComplete": True,
        "cacheHit": False,
    }
    if offset + size < len(job.rows):
        page["pageToken"] = _page_token(offset + size, job.job_id)
    return page


def _timestamps(row: dict[str, Any], int64: bool) -> dict[str, Any]:
    cells = list(row["f"])
    micros = int(cells[0]["v"])
    cells[0] = {"v": str(micros) if int64 else format(Decimal(micros) / 1_000_000, "E")}
    return {"f": cells}


def _money(value: Decimal) -> str:
    return format(value.normalize(), "E") if value and abs(value) < Decimal("0.001") else plain(value)


def _encode_row(sim: ProviderSimulator, org: Any, row: google_data.BillingRow) -> dict[str, Any]:
    malformed = sim.is_malformed("google", "queries", row.usage_start.date())
    credits = [
        {
            "v": {
                "f": [
                    {"v": c.name},
                    {"v": _money(c.amount)},
                    {"v": c.name},
                    {"v": "enterprise-discount"},
                    {"v": c.type},
                ]
            }
        }
        for c in row.credits
    ]
    values: list[Any] = [
        str(int(row.usage_start.timestamp()) * 1_000_000),
        row.project_id,
        row.service,
        row.sku_id,
        row.sku_description,
        MALFORMED if malformed else _money(row.cost),
        org.currency,
        plain(org.conversion_rate),
        "regular",
        str(row.usage_amount),
        row.usage_unit,
    ]
    return {"f": [*({"v": v} for v in values), {"v": credits}]}


# --- routes -------------------------------------------------------------------------------------------------------


def routes(sim: ProviderSimulator) -> list[Route]:
    """The Google routes, to mount at ``/google``."""

    async def not_found(request: Request) -> tuple[Response, str | None]:
        return api_error(404, f"Not found: {request.url.path}", "notFound"), None

    return [
        Route("/token", _endpoint(sim, token_handler(sim)), methods=["POST"]),
        Route("/monitoring/v3/projects/{project}/timeSeries", _endpoint(sim, monitoring_handler(sim)), methods=["GET"]),
        Route("/bigquery/bigquery/v2/projects/{project}/queries", _endpoint(sim, query_handler(sim)), methods=["POST"]),
        Route(
            "/bigquery/bigquery/v2/projects/{project}/queries/{job_id}",
            _endpoint(sim, results_handler(sim)),
            methods=["GET"],
        ),
        Route("/{rest:path}", _endpoint(sim, not_found)),
    ]
