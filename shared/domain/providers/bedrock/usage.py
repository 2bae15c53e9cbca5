"""Amazon Bedrock's wire formats → token counts per UTC day, model and region, and billed cost lines.

**Tokens** (CloudWatch ``AWS/Bedrock``, docs.aws.amazon.com/bedrock/latest/userguide/monitoring.html): per model
(dimension ``ModelId``: a model id or an inference profile id such as ``us.anthropic.claude-…`` or
``global.anthropic.claude-…``) the metrics ``InputTokenCount``, ``OutputTokenCount``, ``CacheReadInputTokenCount``,
``CacheWriteInputTokenCount`` and ``Invocations``. The platform asks ``GetMetricData`` for ``Sum`` over
``Period = 86400`` from a 00:00 UTC start, so each timestamp is the start of one UTC day. ``Values`` are doubles
(JSON numbers); a sum of counts is integral, and is rounded, never truncated. ``InputTokenCount`` is read as the
uncached input, cache reads and writes being counted apart (as Anthropic's own usage fields are).

**Money** (Cost Explorer ``GetCostAndUsage``, ``DAILY``, grouped by ``USAGE_TYPE``): each group's ``UnblendedCost``
is a decimal string in USD. A usage type is ``<location>-<what>``, e.g. ``USE1-Claude3.5Sonnet-input-tokens``; the
location code names the region (``REGION_CODES``) and the rest the model and the token kind. AWS documents no grammar
for it, so it is parsed defensively: a line whose token kind is not recognised is kept as ``CostKind.UNKNOWN`` (still
billed, never dropped).

Bedrock list prices are regional: the genai-prices ``aws`` data are the US prices, so records are priced only in
``LIST_PRICE_REGIONS`` or for ``global.`` cross-region profiles (one worldwide price); elsewhere they are unpriced,
never priced as the first-party model (``shared.domain.usage.pricing``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain.providers.metric_counts import metric_count
from shared.domain.usage.normalise import DayFailure, DayPart, RawUsage
from shared.domain.usage.records import (
    ContextBand,
    CostLine,
    MeterUsage,
    Provider,
    ServiceTier,
    TokenType,
    metered_cost_line,
)
from shared.errors import ProviderResponseError

P = Provider.BEDROCK
NAMESPACE = "AWS/Bedrock"
DAY_SECONDS = 86_400
TOKEN_METRICS: dict[str, TokenType] = {
    "InputTokenCount": TokenType.UNCACHED_INPUT,
    "OutputTokenCount": TokenType.OUTPUT,
    "CacheReadInputTokenCount": TokenType.CACHE_READ,
    "CacheWriteInputTokenCount": TokenType.CACHE_WRITE_5M,
}
INVOCATIONS = "Invocations"
METRICS = (*TOKEN_METRICS, INVOCATIONS)

REGION_CODES = {
    "USE1": "us-east-1",
    "USE2": "us-east-2",
    "USW1": "us-west-1",
    "USW2": "us-west-2",
    "CAN1": "ca-central-1",
    "EUC1": "eu-central-1",
    "EUC2": "eu-central-2",
    "EUW1": "eu-west-1",
    "EUW2": "eu-west-2",
    "EUW3": "eu-west-3",
    "EUN1": "eu-north-1",
    "EUS1": "eu-south-1",
    "APN1": "ap-northeast-1",
    "APN2": "ap-northeast-2",
    "APN3": "ap-northeast-3",
    "APS1": "ap-southeast-1",
    "APS2": "ap-southeast-2",
    "APS3": "ap-south-1",
    "SAE1": "sa-east-1",
    "UGW1": "us-gov-west-1",
}
_USAGE_TYPE = re.compile(r"(?P<loc>[A-Z]{2,4}\d)-(?P<rest>.+)")
_TOKEN_KINDS: tuple[tuple[str, TokenType], ...] = (
    ("cache-read", TokenType.CACHE_READ),
    ("cacheread", TokenType.CACHE_READ),
    ("cache-write", TokenType.CACHE_WRITE_5M),
    ("cachewrite", TokenType.CACHE_WRITE_5M),
    ("output", TokenType.OUTPUT),
    ("input", TokenType.UNCACHED_INPUT),
)
_SUFFIX = re.compile(r"[-_](?:cache[-_]?(?:read|write)[-_]?)?(?:input|output)[-_]?tokens?(?:[-_]count)?$", re.I)


@dataclass(frozen=True)
class MetricQuery:
    """One ``MetricDataQuery``: a metric of one model, with the id its result comes back under."""

    id: str
    region: str
    model_id: str
    metric: str

    def wire(self) -> dict[str, Any]:
        dimensions = [{"Name": "ModelId", "Value": self.model_id}]
        metric = {"Namespace": NAMESPACE, "MetricName": self.metric, "Dimensions": dimensions}
        return {"Id": self.id, "MetricStat": {"Metric": metric, "Period": DAY_SECONDS, "Stat": "Sum"}}


def queries(region: str, model_ids: Iterable[str]) -> list[MetricQuery]:
    """Every metric of every model; ids match ``^[a-z][a-zA-Z0-9_]*$`` as GetMetricData requires."""
    out = []
    for m, model_id in enumerate(sorted(set(model_ids))):
        out += [MetricQuery(f"m{m}_{i}", region, model_id, metric) for i, metric in enumerate(METRICS)]
    return out


def model_ids(metrics: Iterable[Mapping[str, Any]]) -> set[str]:
    """The ``ModelId`` values of ``ListMetrics`` results (metrics with other dimension sets are ignored)."""
    found = set()
    for metric in metrics:
        dims = metric.get("Dimensions") or []
        if len(dims) == 1 and dims[0].get("Name") == "ModelId" and isinstance(dims[0].get("Value"), str):
            found.add(dims[0]["Value"])
    return found


@dataclass
class MetricDays:
    """Tokens and invocations by day, from ``MetricDataResults``; days whose data were unusable fail."""

    usage: dict[date, list[RawUsage]] = field(default_factory=dict)
    meters: dict[date, list[MeterUsage]] = field(default_factory=dict)
    failures: dict[date, DayFailure] = field(default_factory=dict)

    def part(self, day: date) -> DayPart:
        return DayPart(usage=tuple(self.usage.get(day, ())), meters=tuple(self.meters.get(day, ())))


def metric_days(
    results: Sequence[Mapping[str, Any]], by_id: Mapping[str, MetricQuery], days: Sequence[date]
) -> MetricDays:
    """Place every result's values on their UTC day. A result of an unknown id or a malformed value is an error of
    the whole response (``ProviderResponseError``): nothing tells which day it belonged to."""
    out = MetricDays()
    wanted = set(days)
    for result in results:
        query = by_id.get(str(result.get("Id")))
        stamps, values = result.get("Timestamps") or [], result.get("Values") or []
        if query is None or len(stamps) != len(values):
            raise ProviderResponseError("CloudWatch returned a result the platform did not ask for", provider=P.value)
        for stamp, value in zip(stamps, values, strict=True):
            day = _day_of(stamp)
            if day in wanted:
                _place(out, query, day, _count(value))
    return out


def _place(out: MetricDays, query: MetricQuery, day: date, count: int) -> None:
    if count == 0:
        return
    if query.metric == INVOCATIONS:
        meter = MeterUsage(
            provider=P,
            day=day,
            source="cloudwatch",
            meter="invocations",
            quantity=count,
            model=query.model_id,
            project_id=query.region,
        )
        out.meters.setdefault(day, []).append(meter)
        return
    raw = RawUsage(
        model=query.model_id,
        project_id=query.region,
        api_key_id=None,
        service_tier=ServiceTier.STANDARD,
        context_band=ContextBand.STANDARD,
        token_type=TOKEN_METRICS[query.metric],
        quantity=count,
    )
    out.usage.setdefault(day, []).append(raw)


def _day_of(stamp: object) -> date:
    # The JSON protocol sends timestamps as epoch seconds; ISO 8601 strings are accepted too (the query protocol's).
    try:
        if isinstance(stamp, int | float | Decimal) and not isinstance(stamp, bool):
            return datetime.fromtimestamp(float(stamp), UTC).date()
        if isinstance(stamp, str):
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).date()
    except (ValueError, OverflowError) as e:
        raise ProviderResponseError("CloudWatch sent a timestamp that is not a time", provider=P.value) from e
    raise ProviderResponseError("CloudWatch sent a timestamp that is not a time", provider=P.value)


def _count(value: object) -> int:
    return metric_count(value, source="CloudWatch", provider=P)


# --- Cost Explorer ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageType:
    region: str
    model: str | None
    token_type: TokenType | None


def parse_usage_type(usage_type: str) -> UsageType:
    """Region, model text and token kind of a Bedrock usage type, as far as it tells (see the module docstring)."""
    match = _USAGE_TYPE.fullmatch(usage_type.strip())
    if match is None:
        return UsageType(region="unknown", model=None, token_type=None)
    region = REGION_CODES.get(match["loc"], match["loc"].lower())
    rest = match["rest"]
    lowered = rest.lower()
    kind = next((t for word, t in _TOKEN_KINDS if word in lowered and "token" in lowered), None)
    model = _SUFFIX.sub("", rest) if kind is not None else None
    return UsageType(region=region, model=model or None, token_type=kind)


def cost_lines(results_by_time: Sequence[Mapping[str, Any]]) -> dict[date, list[CostLine]]:
    """``ResultsByTime`` → cost lines per UTC day (``TimePeriod.Start``). Raises ``ProviderResponseError`` on a
    malformed amount or period: Cost Explorer's days are whole, so no partial day is kept."""
    lines: dict[date, list[CostLine]] = {}
    for result in results_by_time:
        day = _period_start(result)
        for group in result.get("Groups") or []:
            keys = group.get("Keys") or []
            usage_type = str(keys[0]) if keys else ""
            amount = _amount((group.get("Metrics") or {}).get("UnblendedCost") or {})
            if amount == 0:
                continue
            parsed = parse_usage_type(usage_type)
            lines.setdefault(day, []).append(
                metered_cost_line(
                    P,
                    day,
                    amount,
                    model=parsed.model,
                    token_type=parsed.token_type,
                    line_item=usage_type,
                    project_id=parsed.region,
                )
            )
    return lines


def _period_start(result: Mapping[str, Any]) -> date:
    try:
        return date.fromisoformat(str((result.get("TimePeriod") or {})["Start"]))
    except (KeyError, ValueError) as e:
        raise ProviderResponseError("Cost Explorer sent a period without a start day", provider=P.value) from e


def _amount(metric: Mapping[str, Any]) -> Decimal:
    unit = metric.get("Unit", "USD")
    try:
        amount = Decimal(str(metric["Amount"]))
    except (KeyError, InvalidOperation) as e:
        raise ProviderResponseError("Cost Explorer sent an amount that is not a number", provider=P.value) from e
    if unit != "USD" or not amount.is_finite():
        raise ProviderResponseError("Cost Explorer sent an amount that is not in USD", provider=P.value)
    return amount
