"""Cloud Monitoring ``projects.timeSeries.list`` pages → token counts per UTC day, model and token type.

Wire facts (provider-apis.md §3.1): a page is ``{"timeSeries": [...], "nextPageToken": "..."}`` (both absent when
there is no data); a series carries ``metric{type, labels}``, ``resource{type, labels}`` and ``points`` (newest
first), each point an ``interval{startTime, endTime}`` and a ``value`` whose ``int64Value`` is a JSON *string*.
The platform asks for daily sums (``ALIGN_SUM`` over ``86400s``) of an interval that starts and ends at 00:00 UTC, so
every point ends at a UTC midnight and covers the day before it; a point is placed by its end alone, whatever shape
its interval has.

Three metric families carry Gemini tokens (``FAMILIES``):

* Vertex AI publisher models (Gemini, and partner models such as Claude on Vertex):
  ``aiplatform.googleapis.com/publisher/online_serving/token_count``, grouped by ``resource.label.model_user_id``
  and ``metric.label.type`` (``input`` / ``output``);
* Gemini API (AI Studio keys) input tokens: the quota usage metrics
  ``generativelanguage.googleapis.com/quota/generate_content_<tier>_input_token_count/usage``, one query per
  documented tier (a filter must name a single metric type), by model and quota limit.
  The same usage is reported once per quota limit (per minute, per user...), so twins are de-duplicated: the largest
  count of a (day, quota metric, model) over its limits is kept, never their sum. Free-tier input is kept as a meter
  (it is not billed), paid-tier input is priced;
* Gemini API output tokens: ``generativelanguage.googleapis.com/generate_content_usage_output_token_count``.

Monitoring has no cached-token count: input tokens include cache hits, so a list-price estimate of them is an upper
bound (the billing export prices cache hits separately). Unknown label values are kept as meters, never priced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.usage.normalise import UNKNOWN_MODEL, DayFailure, DayPart, RawUsage
from shared.domain.usage.records import ContextBand, MeterUsage, Provider, ServiceTier, TokenType
from shared.errors import ProviderResponseError

P = Provider.GOOGLE
ALIGNMENT_PERIOD = "86400s"

VERTEX_TOKEN_METRIC = "aiplatform.googleapis.com/publisher/online_serving/token_count"  # noqa: S105 - a metric
GEMINI_API_INPUT_PREFIX = "generativelanguage.googleapis.com/quota/generate_content_"
GEMINI_API_OUTPUT_METRIC = "generativelanguage.googleapis.com/generate_content_usage_output_token_count"


@dataclass(frozen=True)
class MetricFamily:
    """One ``timeSeries.list`` query: exactly one metric type (Google refuses a filter naming more, or a pattern),
    optionally one resource type, grouped by which labels."""

    name: str
    metric_type: str
    group_by: tuple[str, ...]
    resource_type: str | None = None

    @property
    def filter(self) -> str:
        clauses = [f'metric.type = "{self.metric_type}"']
        if self.resource_type:
            clauses.append(f'resource.type = "{self.resource_type}"')
        return " AND ".join(clauses)


GEMINI_API_INPUT_TIERS = ("free_tier", "paid_tier", "paid_tier_2", "paid_tier_3")
"""The documented Gemini API input-token quota metrics, one per tier (provider-apis.md §3.1)."""

FAMILIES: tuple[MetricFamily, ...] = (
    MetricFamily(
        "vertex_ai",
        VERTEX_TOKEN_METRIC,
        ("resource.label.model_user_id", "metric.label.type"),
        "aiplatform.googleapis.com/PublisherModel",
    ),
    *(
        MetricFamily(
            f"gemini_api_input_{tier}",
            f"{GEMINI_API_INPUT_PREFIX}{tier}_input_token_count/usage",
            ("metric.label.model", "metric.label.limit_name"),
        )
        for tier in GEMINI_API_INPUT_TIERS
    ),
    MetricFamily("gemini_api_output", GEMINI_API_OUTPUT_METRIC, ("metric.label.model",)),
)
FAMILY_BY_NAME = {f.name: f for f in FAMILIES}


class _Labelled(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class _Interval(BaseModel):
    model_config = ConfigDict(extra="ignore")

    endTime: str
    startTime: str | None = None


class _Point(BaseModel):
    model_config = ConfigDict(extra="ignore")

    interval: _Interval
    value: dict[str, Any]


class _Series(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metric: _Labelled = Field(default_factory=_Labelled)
    resource: _Labelled = Field(default_factory=_Labelled)
    points: list[_Point] = Field(default_factory=list)


class _Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timeSeries: list[_Series] = Field(default_factory=list)
    nextPageToken: str | None = None


@dataclass(frozen=True)
class TokenPoint:
    """One day's count of one series. ``limit`` tells quota-limit twins apart (see the module docstring)."""

    day: date
    project_id: str
    model: str
    metric: str
    token_type: TokenType | None
    """``None``: kept as the meter ``meter``, not priced."""
    meter: str
    quantity: int
    limit: str = ""


@dataclass
class SeriesPage:
    """A parsed page: its points, the days whose points could not be read, and the next page's token."""

    points: list[TokenPoint] = field(default_factory=list)
    failures: dict[date, DayFailure] = field(default_factory=dict)
    next_page_token: str | None = None


def parse_page(family: MetricFamily, project_id: str, body: object) -> SeriesPage:
    """One ``timeSeries.list`` page of ``family`` for ``project_id``.

    A point with an unreadable value fails its own day; a page that is not a page at all, or a point that is not a
    UTC day, raises ``ProviderResponseError`` (nothing on the page can be placed).
    """
    try:
        page = _Page.model_validate(body)
    except ValidationError as e:
        raise ProviderResponseError(
            f"google time series page is malformed ({e.error_count()} errors)", provider=P.value
        ) from e
    out = SeriesPage(next_page_token=page.nextPageToken or None)
    for series in page.timeSeries:
        for point in series.points:
            day = _utc_day(point.interval)
            try:
                quantity = _count(point.value)
            except ProviderResponseError as e:
                out.failures[day] = DayFailure.of(e)
                continue
            out.points.append(_token_point(family, project_id, series, day, quantity))
    return out


def day_parts(points: Iterable[TokenPoint], days: Iterable[date]) -> dict[date, DayPart]:
    """Every day's usage and meters from ``points``, quota-limit twins de-duplicated (max, never sum)."""
    by_limit: dict[tuple[date, str, str, str, TokenType | None, str], dict[str, int]] = {}
    for p in points:
        key = (p.day, p.project_id, p.metric, p.model, p.token_type, p.meter)
        limits = by_limit.setdefault(key, {})
        limits[p.limit] = limits.get(p.limit, 0) + p.quantity
    usage: dict[date, list[RawUsage]] = {}
    meters: dict[date, list[MeterUsage]] = {}
    for (day, project, _metric, model, token_type, meter), limits in sorted(by_limit.items(), key=_sort_key):
        quantity = max(limits.values())
        if not quantity:
            continue
        if token_type is not None:
            usage.setdefault(day, []).append(
                RawUsage(model, project, None, ServiceTier.STANDARD, ContextBand.STANDARD, token_type, quantity)
            )
        else:
            meters.setdefault(day, []).append(
                MeterUsage(
                    provider=P,
                    day=day,
                    source="cloud_monitoring",
                    meter=meter,
                    quantity=quantity,
                    model=model,
                    project_id=project,
                )
            )
    return {d: DayPart(usage=tuple(usage.get(d, ())), meters=tuple(meters.get(d, ()))) for d in days}


def _sort_key(item: tuple[tuple[Any, ...], Mapping[str, int]]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in item[0])


def _token_point(family: MetricFamily, project_id: str, series: _Series, day: date, quantity: int) -> TokenPoint:
    metric_type = series.metric.type or family.metric_type
    labels = {**series.resource.labels, **series.metric.labels}
    if family.name == "vertex_ai":
        model = model_name(labels.get("model_user_id"))
        kind = labels.get("type", "")
        token_type = {"input": TokenType.UNCACHED_INPUT, "output": TokenType.OUTPUT}.get(kind)
        meter = f"vertex_{kind or 'unknown'}_tokens"
        return TokenPoint(day, project_id, model, metric_type, token_type, meter, quantity)
    model = model_name(labels.get("model"))
    if family.name == "gemini_api_output":
        return TokenPoint(day, project_id, model, metric_type, TokenType.OUTPUT, "output_tokens", quantity)
    paid = metric_type.removeprefix(GEMINI_API_INPUT_PREFIX).startswith("paid_tier")
    limit = labels.get("limit_name", "")
    if paid:
        paid_input = TokenType.UNCACHED_INPUT
        return TokenPoint(day, project_id, model, metric_type, paid_input, "input_tokens", quantity, limit)
    return TokenPoint(day, project_id, model, metric_type, None, "free_tier_input_tokens", quantity, limit)


def model_name(raw: str | None) -> str:
    """``publishers/google/models/gemini-2.5-pro`` or ``claude-sonnet-4-5@20250929`` → the model's name."""
    if not raw:
        return UNKNOWN_MODEL
    name = raw.rsplit("/", 1)[-1].split("@", 1)[0].strip()
    return name or UNKNOWN_MODEL


def _utc_day(interval: _Interval) -> date:
    """The UTC day a point belongs to, by its end alone: the day of the last instant before ``endTime``.

    A daily sum ending at 00:00 UTC is the day before; the start is not read, because Google writes it in several
    shapes (one period earlier for a DELTA, equal to the end, or absent: ``TimeInterval`` says it defaults to the
    end), and a point's data always lies before its end.
    """
    return (_timestamp(interval.endTime) - timedelta(microseconds=1)).date()


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise ProviderResponseError("google time series point time is not RFC 3339", provider=P.value) from e
    if parsed.tzinfo is None:
        raise ProviderResponseError("google time series point time has no timezone", provider=P.value)
    return parsed.astimezone(UTC)


def _count(value: Mapping[str, Any]) -> int:
    """A token count: ``int64Value`` (a JSON string, or a number) or an integral ``doubleValue``."""
    raw = value.get("int64Value", value.get("doubleValue"))
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise ProviderResponseError("google time series point has no numeric value", provider=P.value)
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation as e:
        raise ProviderResponseError("google time series point value is not a number", provider=P.value) from e
    if not number.is_finite() or number < 0 or number != number.to_integral_value():
        raise ProviderResponseError("google time series point value is not a token count", provider=P.value)
    return int(number)
