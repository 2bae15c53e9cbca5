"""Azure OpenAI's wire formats → token counts per UTC day, model and account, and billed cost lines.

**Deployments** (Cognitive Services management API, Deployments - List,
learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments/list): ``value[].name`` is the deployment and
``value[].properties.model.name`` the model it serves, ``value[].sku.name`` its deployment type. Usage is reported
per deployment; a deployment that was deleted since keeps its own name as the model (it is then unpriced, never
guessed).

**Deployment types** (Azure OpenAI deployment types, learn.microsoft.com/azure/ai-services/openai/how-to/
deployment-types; the Azure OpenAI pricing page): standard deployments are billed per token at a price that depends
on where data are processed (``GlobalStandard``, ``DataZoneStandard``, regional ``Standard``; ``GlobalBatch`` at half
the Global price), provisioned ones (``ProvisionedManaged``, ``GlobalProvisionedManaged``,
``DataZoneProvisionedManaged``) per hour of provisioned throughput units, whatever tokens they serve. genai-prices'
``azure`` prices are the Global deployment prices (one price per model, equal to the pricing page's Global column),
so only Global deployments are priced per token; provisioned tokens are unpriced (``provisioned_throughput``), and
every other type is unpriced (``no_deployment_type_price``), never priced at the Global or first-party price.

**Tokens** (Azure Monitor Metrics - List, learn.microsoft.com/rest/api/monitor/metrics/list, with the metric names of
the Azure OpenAI monitoring data reference): ``ProcessedPromptTokens`` and ``GeneratedTokens`` with
``aggregation=Total``, ``interval=P1D`` and ``$filter=ModelDeploymentName eq '*'``. Each ``value[]`` is one metric,
each ``timeseries[]`` one deployment (``metadatavalues`` name ``modeldeploymentname``, lower-cased by Azure), each
``data[]`` one day (``timeStamp`` at 00:00 UTC, ``total`` a double). Azure exposes no cached-token *count* (only a
cache match rate), so prompt tokens are all counted as uncached input: an estimate may overstate a cached prompt,
billed cost never does.

**Money** (Cost Management Query - Usage, learn.microsoft.com/rest/api/cost-management/query/usage): ``properties``
has ``columns`` (``name``, ``type``) and ``rows`` in that order; the platform groups by ``ResourceId`` and ``Meter``,
so a row is cost, ``UsageDate`` (a number ``yyyymmdd``), resource id, meter and ``Currency``. Columns are found by
name, never by position. A meter's name says the model and the token kind (``… Inp …``, ``… Outp …``, ``cached``);
Azure documents no grammar for it, so a meter whose kind is not recognised is kept as ``CostKind.UNKNOWN`` (billed,
never dropped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain.providers.metric_counts import metric_count
from shared.domain.usage.normalise import DayPart, RawUsage
from shared.domain.usage.pricing import UnpricedReason
from shared.domain.usage.records import ContextBand, CostLine, Provider, ServiceTier, TokenType, metered_cost_line
from shared.errors import ProviderResponseError

P = Provider.AZURE
TOKEN_METRICS: dict[str, TokenType] = {
    "ProcessedPromptTokens": TokenType.UNCACHED_INPUT,
    "GeneratedTokens": TokenType.OUTPUT,
}
DEPLOYMENT_DIMENSION = "ModelDeploymentName"
_KIND = re.compile(r"[-_ ](?P<cached>cached?[-_ ]?)?(?P<kind>inp|input|outp|output)(?=\b|[-_ ])", re.IGNORECASE)


def account_name(resource_id: str) -> str:
    """The account's name: the last segment of its resource id (what usage is grouped under, as a project)."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


PER_TOKEN_PRICED: dict[str, ServiceTier] = {"GlobalStandard": ServiceTier.STANDARD, "GlobalBatch": ServiceTier.BATCH}
"""Deployment types whose per-token list price genai-prices' ``azure`` data carry (see the module docstring)."""


@dataclass(frozen=True)
class Deployment:
    model: str
    sku: str | None
    """The deployment type (``sku.name``); ``None`` when Azure did not say."""

    @property
    def service_tier(self) -> ServiceTier:
        return PER_TOKEN_PRICED.get(self.sku or "", ServiceTier.STANDARD)

    @property
    def unpriced(self) -> UnpricedReason | None:
        """Why its tokens have no per-token list price, or ``None`` when they have one."""
        if self.sku in PER_TOKEN_PRICED:
            return None
        if self.sku and "provisioned" in self.sku.lower():
            return UnpricedReason.PROVISIONED_THROUGHPUT
        return UnpricedReason.NO_DEPLOYMENT_TYPE_PRICE


def deployment_models(body: Mapping[str, Any]) -> dict[str, Deployment]:
    """Deployment name (lower-cased, as Azure Monitor reports it) → model and type, from one page of Deployments -
    List."""
    out = {}
    for item in body.get("value") or []:
        if not isinstance(item, Mapping):
            continue
        name, model = item.get("name"), ((item.get("properties") or {}).get("model") or {}).get("name")
        sku = (item.get("sku") or {}).get("name") if isinstance(item.get("sku"), Mapping) else None
        if isinstance(name, str) and isinstance(model, str) and model:
            out[name.lower()] = Deployment(model, sku if isinstance(sku, str) and sku else None)
    return out


@dataclass
class MetricDays:
    usage: dict[date, list[RawUsage]] = field(default_factory=dict)

    def part(self, day: date) -> DayPart:
        return DayPart(usage=tuple(self.usage.get(day, ())))


def metric_days(
    body: Mapping[str, Any], account: str, models: Mapping[str, Deployment], days: Sequence[date], into: MetricDays
) -> None:
    """Place one account's Metrics - List answer on UTC days (raises ``ProviderResponseError`` when malformed)."""
    wanted = set(days)
    for metric in body.get("value") or []:
        token_type = TOKEN_METRICS.get(str((metric.get("name") or {}).get("value")))
        if token_type is None:
            continue
        for series in metric.get("timeseries") or []:
            name = _deployment(series.get("metadatavalues") or [])
            deployment = models.get(name.lower())
            for point in series.get("data") or []:
                day, count = _day_of(point.get("timeStamp")), _count(point.get("total"))
                if day not in wanted or count == 0:
                    continue
                raw = RawUsage(
                    model=deployment.model if deployment else name,
                    project_id=account,
                    api_key_id=None,
                    service_tier=deployment.service_tier if deployment else ServiceTier.STANDARD,
                    unpriced=deployment.unpriced if deployment else None,
                    context_band=ContextBand.STANDARD,
                    token_type=token_type,
                    quantity=count,
                )
                into.usage.setdefault(day, []).append(raw)


def _deployment(metadata: Sequence[Mapping[str, Any]]) -> str:
    for item in metadata:
        if str((item.get("name") or {}).get("value", "")).lower() == DEPLOYMENT_DIMENSION.lower():
            return str(item.get("value") or "unknown")
    return "unknown"


def _day_of(stamp: object) -> date:
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError as e:
        raise ProviderResponseError("Azure Monitor sent a timestamp that is not a time", provider=P.value) from e


def _count(value: object) -> int:
    if value is None:  # Azure omits ``total`` for an interval without data
        return 0
    return metric_count(value, source="Azure Monitor", provider=P)


# --- Cost Management ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meter:
    model: str | None
    token_type: TokenType | None


def parse_meter(meter: str) -> Meter:
    """Model and token kind of an Azure OpenAI meter name, as far as it tells (see the module docstring)."""
    match = _KIND.search(meter)
    if match is None:
        return Meter(None, None)
    if match["cached"]:
        kind = TokenType.CACHE_READ
    else:
        kind = TokenType.OUTPUT if match["kind"].lower().startswith("out") else TokenType.UNCACHED_INPUT
    return Meter(meter[: match.start()].strip() or None, kind)


def cost_lines(properties: Mapping[str, Any]) -> dict[date, list[CostLine]]:
    """A query result's rows → cost lines per UTC day (raises ``ProviderResponseError`` when malformed)."""
    names = [str(c.get("name", "")).lower() for c in properties.get("columns") or []]
    at = {name: i for i, name in enumerate(names)}
    cost_at = next((at[n] for n in ("cost", "pretaxcost", "costusd", "pretaxcostusd") if n in at), None)
    if cost_at is None or "usagedate" not in at:
        raise ProviderResponseError("Cost Management sent rows without a cost or a date", provider=P.value)
    lines: dict[date, list[CostLine]] = {}
    for row in properties.get("rows") or []:
        amount = _amount(row[cost_at])
        currency = str(row[at["currency"]]) if "currency" in at else "USD"
        if currency.upper() != "USD":
            raise ProviderResponseError(f"Cost Management sent an amount in {currency}, not USD", provider=P.value)
        if amount == 0:
            continue
        day = _usage_date(row[at["usagedate"]])
        meter = str(row[at["meter"]]) if "meter" in at else ""
        account = account_name(str(row[at["resourceid"]])) if "resourceid" in at else None
        parsed = parse_meter(meter)
        lines.setdefault(day, []).append(
            metered_cost_line(
                P, day, amount, model=parsed.model, token_type=parsed.token_type, line_item=meter, project_id=account
            )
        )
    return lines


def _usage_date(value: object) -> date:
    try:
        return datetime.strptime(str(int(Decimal(str(value)))), "%Y%m%d").replace(tzinfo=UTC).date()
    except (ValueError, InvalidOperation) as e:
        raise ProviderResponseError("Cost Management sent a usage date that is not a day", provider=P.value) from e


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation as e:
        raise ProviderResponseError("Cost Management sent a cost that is not a number", provider=P.value) from e
    if not amount.is_finite():
        raise ProviderResponseError("Cost Management sent a cost that is not a number", provider=P.value)
    return amount
