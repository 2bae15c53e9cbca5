"""Azure OpenAI as a ``UsageSource``: tokens from Azure Monitor, billed cost from Cost Management (ADR 0023).

The "key" is the Azure connection (``shared.domain.providers.azure.connection``). The source first gets an Azure
Resource Manager token from Entra ID (client credentials flow, scope ``https://management.azure.com/.default``): with a
federated credential it presents a Google ID token of our service account whose audience is the enterprise's
external id (``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``); with the fallback it
sends the client secret. Then, through the platform's ``ProviderHttp`` (timeouts, bounded retries, typed errors):

* per account, Deployments - List (``api-version=2024-10-01``) for deployment → model, then Metrics - List
  (``api-version=2023-10-01``, ``ProcessedPromptTokens,GeneratedTokens``, ``Total``, ``P1D``, split by
  ``ModelDeploymentName``);
* Cost Management Query - Usage (``api-version=2023-03-01``, ``ActualCost``, ``Daily``, filtered to the accounts'
  resource ids, grouped by ``ResourceId`` and ``Meter``) on the subscription, paged by ``nextLink``.

Without Cost Management every day is ``CostSource.ESTIMATED``. A day fails (and keeps its previous snapshot) when its
data could not be read.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from shared.adapters.azure_errors import arm_error, token_error
from shared.adapters.google_identity import IdentityTokens, identity_tokens
from shared.adapters.provider_http import ClientOwner, JsonResponse, ProviderHttp, RetryPolicy, Sleep, run_all
from shared.adapters.report_pager import days_of
from shared.config import Settings
from shared.domain.providers.azure.connection import MANAGEMENT_SCOPE, AzureConnection, parse_connection
from shared.domain.providers.azure.usage import (
    Deployment,
    MetricDays,
    account_name,
    cost_lines,
    deployment_models,
    metric_days,
)
from shared.domain.usage.normalise import DayFailure, DayPart, build_day
from shared.domain.usage.pricing import PRICE_DATA_VERSION
from shared.domain.usage.records import CostLine, CostSource, OrgIdentity, Provider, ProviderPull
from shared.errors import InvalidInput, ProviderError, ProviderResponseError
from shared.ports import EarlyDays

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
METRICS_API = "2023-10-01"
DEPLOYMENTS_API = "2024-10-01"
COST_API = "2023-03-01"
MAX_PAGES = 50
METRICS_PERMISSION = "Microsoft.Insights/metrics/read"
COST_PERMISSION = "Microsoft.CostManagement/query/action"


class AzureUsage(ClientOwner):
    """Reads the Azure OpenAI usage (and, with Cost Management, the cost) of some accounts of one subscription."""

    provider: Provider = Provider.AZURE

    def __init__(
        self,
        connection: SecretStr,
        *,
        settings: Settings,
        http: httpx.AsyncClient | None = None,
        policy: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        identity: IdentityTokens | None = None,
    ) -> None:
        self._connection: AzureConnection = parse_connection(connection)
        self._settings = settings
        self._adopt_client(http, policy)
        self._identity = identity or identity_tokens(settings, self._client)
        self._token: tuple[SecretStr, datetime] | None = None
        self._lock = asyncio.Lock()
        self._pages: list[dict[str, Any]] = []
        common: dict[str, Any] = {"http": self._client, "policy": policy, "sleep": sleep, "rng": rng}
        self._login = ProviderHttp(Provider.AZURE, settings.azure_login_url, dict, **common)
        self._arm = ProviderHttp(Provider.AZURE, settings.azure_management_url, self._bearer, **common)

    def __repr__(self) -> str:
        return f"AzureUsage({self._connection!r})"

    # --- the UsageSource ---------------------------------------------------------------------------------------

    async def validate(self) -> OrgIdentity:
        """Get a token, list every account's deployments, read a day of metrics and, if connected, of cost.

        Raises ``ProviderAuthError`` (federation refused, secret invalid, app not found), ``ProviderPermissionError``
        (a role assignment missing, an account not found, Cost Management unavailable), ``InvalidInput``
        ``azure_metrics_empty`` (no deployment in any account) or a transient error.
        """
        today = datetime.now(UTC).date()
        models = await run_all(self._deployments(a) for a in self._connection.accounts)
        if not any(models):
            raise InvalidInput(
                "Entra ID and Azure accepted the service principal, but the accounts have no model deployments, so "
                "Azure Monitor has no token metrics for them: check the account resource ids",
                code="azure_metrics_empty",
            )
        await self._metrics(self._connection.accounts[0], today - timedelta(days=1), today + timedelta(days=1))
        permissions = [METRICS_PERMISSION]
        if self._connection.cost_management:
            await self._costs(today - timedelta(days=1), today)
            permissions.append(COST_PERMISSION)
        return OrgIdentity(
            provider=Provider.AZURE,
            org_id=self._connection.tenant_id,
            org_name=None,
            permissions=tuple(permissions),
            principal=self._connection.client_id,
            projects=tuple(account_name(a) for a in self._connection.accounts),
            billing_export=self._connection.cost_management,
        )

    async def pull(self, start: date, end_exclusive: date, *, early: EarlyDays | None = None) -> ProviderPull:
        """Usage (and billed or estimated cost) for the UTC days ``[start, end_exclusive)``."""
        if end_exclusive <= start:
            raise ValueError("end_exclusive must be after start")
        days = days_of(start, end_exclusive)
        both: list[Any] = await run_all([self._usage(start, end_exclusive, days), self._billed(start, end_exclusive)])
        metrics, costs = cast(tuple[MetricDays, DayFailure | None], both[0]), cast(_Costs | None, both[1])
        source = CostSource.BILLED if self._connection.cost_management else CostSource.ESTIMATED
        built = {}
        for day in days:
            failure = metrics[1] or (costs.failure if costs is not None else None)
            lines = tuple(costs.lines.get(day, ())) if costs is not None else ()
            parts = [metrics[0].part(day), DayPart(costs=lines)]
            built[day] = build_day(Provider.AZURE, day, parts, failure, cost_source=source)
        return ProviderPull(
            provider=Provider.AZURE,
            start=start,
            end_exclusive=end_exclusive,
            days=built,
            price_data_version=PRICE_DATA_VERSION,
            raw_pages=tuple(self._pages),
        )

    # --- Azure Monitor -----------------------------------------------------------------------------------------

    async def _usage(self, start: date, end: date, days: list[date]) -> tuple[MetricDays, DayFailure | None]:
        out = MetricDays()
        for account in self._connection.accounts:
            models = await self._deployments(account)
            body = await self._metrics(account, start, end)
            try:
                metric_days(body, account_name(account), models, days, out)
            except ProviderResponseError as e:  # a malformed answer fails the window's days, not the pull
                return MetricDays(), DayFailure.of(e)
        return out, None

    async def _deployments(self, account: str) -> dict[str, Deployment]:
        models: dict[str, Deployment] = {}
        path, params = f"{account}/deployments", [("api-version", DEPLOYMENTS_API)]
        for _ in range(MAX_PAGES):
            page = await self._get(path, params, role="Reader", what="the account's deployments")
            models |= deployment_models(page.body)
            if not (link := page.body.get("nextLink")):
                return models
            path, params = self._split(str(link))
        raise ProviderResponseError("Deployments - List did not stop paging", provider="azure")

    async def _metrics(self, account: str, start: date, end: date) -> dict[str, Any]:
        params = [
            ("api-version", METRICS_API),
            ("metricnames", "ProcessedPromptTokens,GeneratedTokens"),
            ("aggregation", "Total"),
            ("interval", "P1D"),
            ("timespan", f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T00:00:00Z"),
            ("$filter", "ModelDeploymentName eq '*'"),
        ]
        path = f"{account}/providers/Microsoft.Insights/metrics"
        page = await self._get(path, params, role="Monitoring Reader", what="Azure Monitor metrics")
        return cast(dict[str, Any], page.body)

    # --- Cost Management -----------------------------------------------------------------------------------------

    async def _billed(self, start: date, end: date) -> _Costs | None:
        if not self._connection.cost_management:
            return None
        try:
            return _Costs(cost_lines(await self._costs(start, end)))
        except ProviderResponseError as e:
            return _Costs({}, DayFailure.of(e))

    async def _costs(self, start: date, end: date) -> dict[str, Any]:
        body = {
            "type": "ActualCost",
            "timeframe": "Custom",
            "timePeriod": {"from": f"{start.isoformat()}T00:00:00Z", "to": f"{(end - timedelta(days=1))}T23:59:59Z"},
            "dataset": {
                "granularity": "Daily",
                "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
                "grouping": [{"type": "Dimension", "name": "ResourceId"}, {"type": "Dimension", "name": "Meter"}],
                "filter": {
                    "dimensions": {
                        "name": "ResourceId",
                        "operator": "In",
                        "values": [a.lower() for a in self._connection.accounts],
                    }
                },
            },
        }
        path = f"/subscriptions/{self._connection.subscription_id}/providers/Microsoft.CostManagement/query"
        params: list[tuple[str, str]] = [("api-version", COST_API)]
        merged: dict[str, Any] = {"columns": [], "rows": []}
        for _ in range(MAX_PAGES):
            page = await self._post(path, params, body)
            props = page.body.get("properties") or {}
            merged["columns"] = props.get("columns") or merged["columns"]
            merged["rows"] += props.get("rows") or []
            if not (link := props.get("nextLink")):
                return merged
            path, params = self._split(str(link))
        raise ProviderResponseError("Cost Management did not stop paging", provider="azure")

    # --- HTTP ----------------------------------------------------------------------------------------------------

    async def _get(self, path: str, params: list[tuple[str, str]], *, role: str, what: str) -> JsonResponse:
        await self._ensure_token()

        def explain(status: int, body: Any, message: str) -> ProviderError | None:
            return arm_error(status, body, message, role=role, what=what)

        page = await self._arm.get_json(path, params, explain=explain)
        self._pages.append({"endpoint": path.rsplit("/", 1)[-1], "body": page.text})
        return page

    async def _post(self, path: str, params: list[tuple[str, str]], body: dict[str, Any]) -> JsonResponse:
        await self._ensure_token()

        def explain(status: int, error: Any, message: str) -> ProviderError | None:
            return arm_error(status, error, message, role="Cost Management Reader", what="the subscription's cost")

        page = await self._arm.post_json(path, params=params, json_body=body, explain=explain)
        self._pages.append({"endpoint": "costmanagement:query", "body": page.text})
        return page

    def _split(self, link: str) -> tuple[str, list[tuple[str, str]]]:
        """A ``nextLink`` → path and query parameters on the management endpoint. A link elsewhere is refused: the
        bearer token would follow it (a page is Azure's data, not an instruction to send our token anywhere)."""
        base = self._settings.azure_management_url.rstrip("/")
        if not link.startswith(base + "/"):
            raise ProviderResponseError("Azure sent a next page on another host", provider="azure")
        parts = urlsplit(link.removeprefix(base))
        return parts.path, parse_qsl(parts.query, keep_blank_values=True)

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token[0].get_secret_value()}"} if self._token else {}

    async def _ensure_token(self) -> None:
        async with self._lock:
            if self._token is not None and self._token[1] - datetime.now(UTC) > timedelta(minutes=5):
                return
            c = self._connection
            form = {"client_id": c.client_id, "scope": MANAGEMENT_SCOPE, "grant_type": "client_credentials"}
            if c.client_secret is not None:
                form["client_secret"] = c.client_secret.get_secret_value()
            else:
                assertion = await self._identity(c.external_id)
                form |= {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion.get_secret_value()}
            answer = await self._login.post_json(f"/{c.tenant_id}/oauth2/v2.0/token", form=form, explain=token_error)
            token, lifetime = answer.body.get("access_token"), answer.body.get("expires_in")
            if not isinstance(token, str) or not token:
                raise ProviderResponseError("Entra ID answered without an access token", provider="azure")
            seconds = int(lifetime) if isinstance(lifetime, int | str) and str(lifetime).isdigit() else 3599
            self._token = (SecretStr(token), datetime.now(UTC) + timedelta(seconds=seconds))


class _Costs:
    def __init__(self, lines: dict[date, list[CostLine]], failure: DayFailure | None = None) -> None:
        self.lines = lines
        self.failure = failure
