"""Azure OpenAI's Azure surfaces, mounted at ``/azure``: Entra ID's token endpoint and Azure Resource Manager.

Each rule enforced here is a documented one:

* ``POST /azure/login/{tenant}/oauth2/v2.0/token`` — the client credentials flow (Microsoft identity platform,
  "OAuth 2.0 client credentials flow"): form fields ``client_id``, ``scope`` (``<resource>/.default``),
  ``grant_type=client_credentials`` and either ``client_secret`` or ``client_assertion_type=urn:ietf:params:oauth:
  client-assertion-type:jwt-bearer`` with ``client_assertion``. With a federated credential ("Workload identity
  federation", "Configure an app to trust an external identity provider") the assertion's ``iss``, ``sub`` and
  ``aud`` must equal the credential's issuer, subject and one of its audiences, else ``AADSTS70021`` (no matching
  federated identity record). Errors are ``{"error", "error_description", "error_codes", …}``: unknown tenant
  ``AADSTS90002``, unknown app ``AADSTS700016``, wrong secret ``AADSTS7000215``, missing field ``AADSTS900144``.
  Local mode's assertions are unsigned (as for AWS); the simulator checks claims, not signatures.
* ``/azure/arm/…`` — Azure Resource Manager: every request needs ``Authorization: Bearer`` with a token for
  ``https://management.azure.com`` of the subscription's tenant (``AuthenticationFailed``,
  ``InvalidAuthenticationToken``, ``ExpiredAuthenticationToken``, ``InvalidAuthenticationTokenTenant``) and an
  ``api-version`` (``MissingApiVersionParameter``); a missing role assignment is 403 ``AuthorizationFailed``, an
  unknown account 404 ``ResourceNotFound``. Errors are ``{"error": {"code", "message"}}``. Paths are matched
  case-insensitively, as ARM does.
* Deployments - List returns ``value[]`` with ``name`` and ``properties.model`` (``format``, ``name``, ``version``).
* Metrics - List requires ``metricnames`` (known ones only: ``BadRequest`` otherwise); ``interval`` (only ``P1D``
  served here), ``aggregation`` and ``timespan`` (``start/end``); with ``$filter=ModelDeploymentName eq '*'`` one
  ``timeseries`` per deployment (``metadatavalues`` name ``modeldeploymentname``), without it one summed series.
  Intervals without data carry no ``total``.
* Cost Management Query - Usage requires ``type``, ``timeframe`` (``Custom`` needs ``timePeriod``) and ``dataset``
  with at most two ``grouping`` entries; ``rows`` follow ``columns``; pages continue at ``properties.nextLink``. A
  subscription whose offer Cost Management does not support answers 400 ``SubscriptionTypeNotSupported``
  ("Troubleshoot common Cost Management errors").
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.provider_sim import azure_data
from devstack.provider_sim.aws_auth import claims_of
from devstack.provider_sim.azure_data import AzureTenant
from devstack.provider_sim.models import RequestRecord
from devstack.provider_sim.simulator import ProviderSimulator, fingerprint

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ARM = "https://management.azure.com"
GOOGLE = "https://accounts.google.com"
METRICS = {"ProcessedPromptTokens": "prompt", "GeneratedTokens": "generated"}
API_VERSIONS = {
    "deployments": {"2023-05-01", "2024-10-01", "2025-06-01"},
    "metrics": {"2018-01-01", "2023-10-01", "2024-02-01"},
    "query": {"2023-03-01", "2024-08-01", "2025-03-01"},
}
_ACCOUNT = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.CognitiveServices/accounts/(?P<acct>[^/]+)"  # noqa: E501
_DEPLOYMENTS = re.compile(_ACCOUNT + "/deployments", re.I)
_METRICS = re.compile(_ACCOUNT + r"/providers/Microsoft\.Insights/metrics", re.I)
_QUERY = re.compile(r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.CostManagement/query", re.I)


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def arm_error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status)


def login_error(status: int, error: str, code: int, text: str) -> Response:
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: sim",
        "error_codes": [code],
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": "sim",
        "correlation_id": "sim",
    }
    return JSONResponse(body, status)


# --- Entra ID ----------------------------------------------------------------------------------------------------


def token(sim: ProviderSimulator, tenant_id: str, form: dict[str, str]) -> Response:
    for name in ("client_id", "scope", "grant_type"):
        if not form.get(name):
            return login_error(400, "invalid_request", 900144, f"The request body must contain: '{name}'.")
    if form["grant_type"] != "client_credentials":
        return login_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    if not form["scope"].endswith("/.default"):
        return login_error(400, "invalid_scope", 1002012, "The provided value for scope is not valid.")
    tenant = sim.azure.tenant(tenant_id)
    if tenant is None:
        return login_error(400, "invalid_request", 90002, f"Tenant '{tenant_id}' not found.")
    if form["client_id"].lower() != tenant.client_id:
        return login_error(400, "unauthorized_client", 700016, "Application not found in the directory.")
    if form.get("client_secret"):
        if form["client_secret"] not in tenant.client_secrets:
            return login_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
    elif form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        return login_error(400, "invalid_client", 7000218, "The request body must contain a client_assertion.")
    elif not _trusted(tenant, form["client_assertion"], sim.now()):
        text = "No matching federated identity record found for presented assertion."
        return login_error(401, "invalid_client", 70021, text)
    audience = form["scope"].removesuffix("/.default").rstrip("/")
    access = sim.azure.issue(tenant, audience, sim.now(), 3599)
    return JSONResponse({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access})


def _trusted(tenant: AzureTenant, assertion: str, now: datetime) -> bool:
    claims = claims_of(assertion) or {}
    return (
        claims.get("iss") == GOOGLE
        and claims.get("sub") in tenant.trusted_subjects
        and claims.get("aud") == tenant.external_id
        and isinstance(claims.get("exp"), int)
        and claims["exp"] > now.timestamp()
    )


# --- Resource Manager --------------------------------------------------------------------------------------------


def authorize(sim: ProviderSimulator, request: Request, subscription: str, surface: str) -> AzureTenant:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise Refused(arm_error(401, "AuthenticationFailed", "The 'Authorization' header is missing."))
    grant = sim.azure.grant(header.removeprefix("Bearer "))
    if grant is None or grant.audience != ARM:
        raise Refused(arm_error(401, "InvalidAuthenticationToken", "The access token is invalid."))
    if grant.expires <= sim.now():
        raise Refused(arm_error(401, "ExpiredAuthenticationToken", "The access token expiry UTC time has passed."))
    tenant = sim.azure.by_subscription(subscription)
    if tenant is None or tenant.tenant_id != grant.tenant_id:
        raise Refused(arm_error(401, "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer."))
    version = request.query_params.get("api-version")
    if not version:
        raise Refused(
            arm_error(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required")
        )
    if version not in API_VERSIONS[surface]:
        raise Refused(arm_error(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid."))
    return tenant


def require(tenant: AzureTenant, role: str, action: str, scope: str) -> None:
    if role in tenant.denied_roles:
        text = f"The client '{tenant.client_id}' does not have authorization to perform action '{action}' over scope"
        raise Refused(arm_error(403, "AuthorizationFailed", f"{text} '{scope}' or the scope is invalid."))


def account_of(tenant: AzureTenant, match: re.Match[str]) -> str:
    name = match["acct"]
    if match["rg"].lower() != azure_data.RESOURCE_GROUP or name not in tenant.accounts:
        text = f"The Resource 'Microsoft.CognitiveServices/accounts/{name}' under resource group was not found."
        raise Refused(arm_error(404, "ResourceNotFound", text))
    return name


def deployments(tenant: AzureTenant, account: str) -> Response:
    values = []
    for name, model in tenant.deployments(account).items():
        rid = f"{tenant.resource_id(account)}/deployments/{name}"
        props = {"model": {"format": "OpenAI", "name": model.name, "version": model.version}}
        values.append(
            {
                "id": rid,
                "name": name,
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "sku": {"name": tenant.deployment_skus.get(name, "GlobalStandard"), "capacity": 100},
                "properties": {**props, "provisioningState": "Succeeded"},
            }
        )
    return JSONResponse({"value": values})


def metrics(sim: ProviderSimulator, tenant: AzureTenant, account: str, query: dict[str, str]) -> Response:
    names = [n.strip() for n in query.get("metricnames", "").split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if not names or unknown:
        text = f"Failed to find metric configuration for provider: Microsoft.CognitiveServices, metric: {unknown}"
        raise Refused(arm_error(400, "BadRequest", text))
    if query.get("interval", "PT1H") != "P1D":
        raise Refused(arm_error(400, "BadRequest", "the simulator serves interval P1D only"))
    start, end = _timespan(query.get("timespan", ""))
    split = query.get("$filter", "").replace(" ", "").lower() == "modeldeploymentnameeq'*'"
    total = "total" in query.get("aggregation", "").lower()
    today = sim.now().date()
    days = [start + timedelta(days=i) for i in range((end - start).days) if start + timedelta(days=i) <= today]
    series: dict[str, dict[str, dict[date, int]]] = {m: {} for m in names}
    for day in days:
        for dd in azure_data.deployment_days(tenant, day):
            if dd.account != account:
                continue
            for metric in names:
                key = dd.deployment if split else ""
                per_day = series[metric].setdefault(key, {})
                per_day[day] = per_day.get(day, 0) + (dd.prompt if METRICS[metric] == "prompt" else dd.generated)
    value = []
    for metric in names:
        timeseries = []
        for key, per_day in sorted(series[metric].items()):
            meta = [{"name": {"value": "modeldeploymentname", "localizedValue": "ModelDeploymentName"}, "value": key}]
            data = [_point(d, per_day.get(d, 0), total) for d in days]
            timeseries.append({"metadatavalues": meta if split else [], "data": data})
        value.append(
            {
                "id": f"{tenant.resource_id(account)}/providers/Microsoft.Insights/metrics/{metric}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": metric, "localizedValue": metric},
                "unit": "Count",
                "timeseries": timeseries,
                "errorCode": "Success",
            }
        )
    return JSONResponse({"timespan": query.get("timespan"), "interval": "P1D", "value": value, "resourceregion": "x"})


def _point(day: date, count: int, total: bool) -> dict[str, Any]:
    point: dict[str, Any] = {"timeStamp": f"{day.isoformat()}T00:00:00Z"}
    if count and total:
        point["total"] = float(count)
    return point


def _timespan(raw: str) -> tuple[date, date]:
    try:
        start, end = (datetime.fromisoformat(p.replace("Z", "+00:00")) for p in raw.split("/"))
    except ValueError:
        raise Refused(arm_error(400, "BadRequest", "timespan must be start/end in ISO 8601")) from None
    if end <= start:
        raise Refused(arm_error(400, "BadRequest", "timespan's end must be after its start"))
    return start.date(), end.date()


def cost_query(
    sim: ProviderSimulator, tenant: AzureTenant, request_url: str, query: dict[str, str], body: Any
) -> Response:
    if not tenant.cost_management_enabled:
        text = "Cost Management supports only Enterprise Agreement, Web direct and Microsoft Customer Agreement offers."
        raise Refused(arm_error(400, "SubscriptionTypeNotSupported", text))
    dataset = body.get("dataset") if isinstance(body, dict) else None
    if not isinstance(dataset, dict) or body.get("type") not in ("Usage", "ActualCost", "AmortizedCost"):
        raise Refused(arm_error(400, "BadRequest", "type and dataset are required"))
    grouping = dataset.get("grouping") or []
    if len(grouping) > 2 or body.get("timeframe") != "Custom" or not isinstance(body.get("timePeriod"), dict):
        raise Refused(arm_error(400, "BadRequest", "at most two groupings; the simulator serves a Custom timeframe"))
    try:
        start = datetime.fromisoformat(str(body["timePeriod"]["from"]).replace("Z", "+00:00")).date()
        end = datetime.fromisoformat(str(body["timePeriod"]["to"]).replace("Z", "+00:00")).date()
    except (KeyError, ValueError):
        raise Refused(arm_error(400, "BadRequest", "timePeriod needs from and to")) from None
    dims = [str(g.get("name")) for g in grouping]
    wanted = _resource_filter(dataset.get("filter"))
    rows: list[list[Any]] = []
    day = start
    while day <= end:
        for (rid, meter), amount in sorted(azure_data.bill(tenant, day).items()):
            if wanted is None or rid in wanted:
                named = {"ResourceId": rid, "Meter": meter, "MeterSubCategory": "Azure OpenAI"}
                rows.append([float(amount), int(day.strftime("%Y%m%d")), *(named.get(d, "") for d in dims), "USD"])
        day += timedelta(days=1)
    skip = int(query.get("$skiptoken", "0") or 0)
    page = rows[skip : skip + sim.azure.rows_per_page]
    columns = [{"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"}]
    columns += [{"name": d, "type": "String"} for d in dims] + [{"name": "Currency", "type": "String"}]
    more = skip + len(page) < len(rows)
    link = f"{request_url.split('?')[0]}?api-version={query['api-version']}&$skiptoken={skip + len(page)}"
    props = {"nextLink": link if more else None, "columns": columns, "rows": page}
    return JSONResponse({"id": "sim", "name": "sim", "type": "Microsoft.CostManagement/query", "properties": props})


def _resource_filter(raw: Any) -> set[str] | None:
    dims = raw.get("dimensions") if isinstance(raw, dict) else None
    if not isinstance(dims, dict) or str(dims.get("name")).lower() != "resourceid":
        return None
    return {str(v).lower() for v in dims.get("values") or []}


# --- routing -----------------------------------------------------------------------------------------------------


def _endpoint(sim: ProviderSimulator, handle: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
    """Fault knobs first (429 as ARM answers it; a 5xx), then the handler; every request is logged."""

    async def run(request: Request) -> Response:
        decision = sim.decide_faults("azure")
        if decision.delay_s:
            await asyncio.sleep(decision.delay_s)
        if decision.status == 429:
            response = arm_error(429, "TooManyRequests", "Too many requests. Please retry.")
            response.headers["x-ms-ratelimit-microsoft.costmanagement-entity-retry-after"] = "1"
        elif decision.status is not None:
            response = arm_error(decision.status, "InternalServerError", "The server encountered an error.")
        else:
            try:
                response = await handle(request)
            except Refused as e:
                response = e.response
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        path = request.url.path
        sim.record(
            RequestRecord(
                provider="azure",
                method=request.method,
                path=path[path.index("/azure") + len("/azure") :] if "/azure" in path else path,
                query={k: [v] for k, v in request.query_params.items()},
                status=response.status_code,
                key_fingerprint=fingerprint(bearer) if bearer else None,
                at=sim.now(),
            )
        )
        return response

    return run


def routes(sim: ProviderSimulator) -> list[Route]:
    async def login(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        return token(sim, request.path_params["tenant"], form)

    async def arm(request: Request) -> Response:
        path = "/" + request.path_params["path"]
        query = dict(request.query_params)
        if request.method == "GET" and (m := _DEPLOYMENTS.fullmatch(path)):
            tenant = authorize(sim, request, m["sub"], "deployments")
            require(tenant, "Reader", "Microsoft.CognitiveServices/accounts/deployments/read", path)
            return deployments(tenant, account_of(tenant, m))
        if request.method == "GET" and (m := _METRICS.fullmatch(path)):
            tenant = authorize(sim, request, m["sub"], "metrics")
            require(tenant, "Monitoring Reader", "Microsoft.Insights/metrics/read", path)
            return metrics(sim, tenant, account_of(tenant, m), query)
        if request.method == "POST" and (m := _QUERY.fullmatch(path)):
            tenant = authorize(sim, request, m["sub"], "query")
            require(tenant, "Cost Management Reader", "Microsoft.CostManagement/query/action", path)
            try:
                body = await request.json()
            except ValueError:
                return arm_error(400, "BadRequest", "The request body is not JSON.")
            return cost_query(sim, tenant, str(request.url), query, body)
        return arm_error(404, "InvalidResourceType", f"The resource type could not be found for {path}.")

    return [
        Route("/login/{tenant}/oauth2/v2.0/token", _endpoint(sim, login), methods=["POST"]),
        Route("/arm/{path:path}", _endpoint(sim, arm), methods=["GET", "POST"]),
    ]
