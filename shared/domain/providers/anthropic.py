"""Anthropic Admin API ``usage_report/messages`` and ``cost_report`` buckets → ``DayPart``s.

Wire facts (docs/reference provider-apis.md §2): buckets carry ``starting_at`` (RFC 3339); input is split into
``uncached_input_tokens``, ``cache_read_input_tokens`` and the NESTED ``cache_creation`` object (5m and 1h
writes); batch usage is ``service_tier = "batch"`` (counted once); ``context_window = "200k-1M"`` marks long-context
requests, priced at the long-context tier. Cost ``amount`` is a decimal string in CENTS (``"123.78912"`` =
$1.2378912). Grouping fields may be ``null``; unknown fields are ignored.

The legacy usage/cost reports are parsed here; the newer Usage and Cost Analytics API (which also returns list
amounts) can get a sibling module producing the same ``DayPart``s.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.usage.normalise import UNKNOWN_MODEL, DayPart, RawUsage, bucket_results, utc_day_of_rfc3339
from shared.domain.usage.records import (
    ContextBand,
    CostKind,
    CostLine,
    MeterUsage,
    Provider,
    ProviderAmount,
    ServiceTier,
    TokenType,
)
from shared.errors import ProviderResponseError

log = logging.getLogger(__name__)

P = Provider.ANTHROPIC
Count = Annotated[int, Field(ge=0)]
CENTS_PER_DOLLAR = Decimal(100)

_TIERS = {
    "standard": ServiceTier.STANDARD,
    "batch": ServiceTier.BATCH,
    "priority": ServiceTier.PRIORITY,
    "priority_on_demand": ServiceTier.PRIORITY,
    "flex": ServiceTier.FLEX,
    "flex_discount": ServiceTier.FLEX,
}
_TOKEN_TYPES = {
    "uncached_input_tokens": TokenType.UNCACHED_INPUT,
    "cache_read_input_tokens": TokenType.CACHE_READ,
    "cache_creation.ephemeral_5m_input_tokens": TokenType.CACHE_WRITE_5M,
    "cache_creation.ephemeral_1h_input_tokens": TokenType.CACHE_WRITE_1H,
    "output_tokens": TokenType.OUTPUT,
}


class _CacheCreation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ephemeral_5m_input_tokens: Count = 0
    ephemeral_1h_input_tokens: Count = 0


class _ServerToolUse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    web_search_requests: Count = 0


class _UsageRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uncached_input_tokens: Count
    cache_read_input_tokens: Count
    output_tokens: Count
    cache_creation: _CacheCreation | None = None
    server_tool_use: _ServerToolUse | None = None
    model: str | None = None
    workspace_id: str | None = None
    api_key_id: str | None = None
    service_tier: str | None = None
    context_window: str | None = None


class _CostRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount: ProviderAmount
    currency: str = "USD"
    workspace_id: str | None = None
    description: str | None = None
    cost_type: str | None = None
    model: str | None = None
    token_type: str | None = None
    service_tier: str | None = None
    context_window: str | None = None


def bucket_day(bucket: Mapping[str, Any]) -> date:
    return utc_day_of_rfc3339(P, bucket.get("starting_at"))


def parse_bucket(report: str, bucket: Mapping[str, Any]) -> tuple[date, DayPart]:
    """One bucket of ``report`` (``usage`` or ``costs``) as the day's ``DayPart``."""
    day = bucket_day(bucket)
    rows = bucket_results(P, bucket)
    try:
        if report == "usage":
            parsed = [_UsageRow.model_validate(r) for r in rows]
            usage = tuple(u for row in parsed for u in _usage(row))
            meters = tuple(m for row in parsed if (m := _web_searches(day, row)) is not None)
            return day, DayPart(usage=usage, meters=meters)
        if report == "costs":
            return day, DayPart(costs=tuple(_cost_line(day, _CostRow.model_validate(r)) for r in rows))
    except ValidationError as e:
        raise ProviderResponseError(
            f"anthropic {report} bucket for {day.isoformat()} is malformed ({e.error_count()} errors)",
            provider=P.value,
        ) from e
    raise ValueError(f"unknown Anthropic report {report!r}")


def service_tier(value: str | None) -> ServiceTier:
    if value is None:
        return ServiceTier.STANDARD
    tier = _TIERS.get(value.lower())
    if tier is None:
        log.warning("unknown anthropic service tier counted as standard", extra={"service_tier": value})
        return ServiceTier.STANDARD
    return tier


def context_band(value: str | None) -> ContextBand:
    """``200k-1M`` is long context; ``0-200k`` and ``null`` (not grouped) are standard."""
    return ContextBand.LONG if value is not None and value.lower().startswith("200k") else ContextBand.STANDARD


def _usage(row: _UsageRow) -> list[RawUsage]:
    writes = row.cache_creation or _CacheCreation()
    counts = {
        TokenType.UNCACHED_INPUT: row.uncached_input_tokens,
        TokenType.CACHE_READ: row.cache_read_input_tokens,
        TokenType.CACHE_WRITE_5M: writes.ephemeral_5m_input_tokens,
        TokenType.CACHE_WRITE_1H: writes.ephemeral_1h_input_tokens,
        TokenType.OUTPUT: row.output_tokens,
    }
    tier, band = service_tier(row.service_tier), context_band(row.context_window)
    return [
        RawUsage(
            model=row.model or UNKNOWN_MODEL,
            project_id=row.workspace_id,
            api_key_id=row.api_key_id,
            service_tier=tier,
            context_band=band,
            token_type=token_type,
            quantity=n,
        )
        for token_type, n in counts.items()
        if n
    ]


def _web_searches(day: date, row: _UsageRow) -> MeterUsage | None:
    searches = row.server_tool_use.web_search_requests if row.server_tool_use else 0
    if not searches:
        return None
    return MeterUsage(
        provider=P,
        day=day,
        source="usage_report.server_tool_use",
        meter="web_search_requests",
        quantity=searches,
        model=row.model,
        project_id=row.workspace_id,
        api_key_id=row.api_key_id,
    )


def _cost_line(day: date, row: _CostRow) -> CostLine:
    if row.currency.upper() != "USD":
        raise ProviderResponseError(f"anthropic cost in unsupported currency {row.currency!r}", provider=P.value)
    token_type = _TOKEN_TYPES.get(row.token_type) if row.token_type else None
    if row.cost_type is not None:
        kind = CostKind.TOKENS if row.cost_type == "tokens" else CostKind.OTHER
    else:
        kind = CostKind.TOKENS if token_type is not None else CostKind.UNKNOWN
    return CostLine(
        provider=P,
        day=day,
        amount_usd=row.amount / CENTS_PER_DOLLAR,
        kind=kind,
        model=row.model,
        token_type=token_type,
        service_tier=service_tier(row.service_tier) if row.service_tier else None,
        context_band=context_band(row.context_window) if row.context_window else None,
        line_item=row.description,
        project_id=row.workspace_id,
    )
