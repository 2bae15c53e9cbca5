"""From provider report rows to priced ``UsageRecord``s and a reconciled ``ProviderDay``.

Provider-specific parsing lives in ``providers.openai`` and ``providers.anthropic``; both produce ``DayPart``s (raw
token counts, cost lines, non-token meters for one day). This module merges the parts of a day, sums rows that
land on the same record key (e.g. OpenAI ``service_tier`` ``"default"`` and ``null`` are both standard), prices
each record at list and reconciles billed against list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.domain.usage.charges import categorised
from shared.domain.usage.line_tiers import settle_tiers
from shared.domain.usage.pricing import UnitPrice, list_unit_price, priced_where
from shared.domain.usage.reconcile import MIN_ABSOLUTE_GAP_USD, TIERS_BILLED_ELSEWHERE, reconcile
from shared.domain.usage.records import (
    ContextBand,
    CostKind,
    CostLine,
    CostSource,
    DayStatus,
    MeterUsage,
    Provider,
    ProviderDay,
    Reconciliation,
    ServiceTier,
    TokenType,
    UsageRecord,
)
from shared.errors import ProviderError, ProviderResponseError

UNKNOWN_MODEL = "unknown"
"""Model name used when a usage row carries none (it is then reported unpriced)."""


@dataclass(frozen=True)
class RawUsage:
    """A token count before aggregation and pricing."""

    model: str
    project_id: str | None
    api_key_id: str | None
    service_tier: ServiceTier
    context_band: ContextBand
    token_type: TokenType
    quantity: int
    tier_reported: bool = True
    """``False``: the report has no tier column (OpenAI embeddings); the cost lines tell (``line_tiers``)."""
    tier_unknown: bool = False
    """The tier could not be settled: the usage cannot be priced exactly and is left unpriced."""
    unpriced: str | None = None
    """The channel says the usage has no per-token list price, and why (``pricing.UnpricedReason``)."""


@dataclass(frozen=True)
class DayPart:
    """What one report contributed to one day."""

    usage: tuple[RawUsage, ...] = ()
    costs: tuple[CostLine, ...] = ()
    meters: tuple[MeterUsage, ...] = ()


@dataclass(frozen=True)
class DayFailure:
    """Why one day's data could not be used (only the affected day fails)."""

    code: str
    message: str

    @classmethod
    def of(cls, error: ProviderError) -> DayFailure:
        return cls(code=error.code, message=error.message)


@dataclass
class ReportPage:
    """The common page envelope of both providers' reports: buckets plus a pagination cursor."""

    buckets: list[Mapping[str, Any]]
    has_more: bool
    next_page: str | None = field(default=None)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    data: list[dict[str, Any]]
    has_more: bool = False
    next_page: str | None = None


def parse_page(provider: Provider, body: object) -> ReportPage:
    """Validate a report page envelope; raises ``ProviderResponseError`` if it is unusable as a page."""
    try:
        envelope = _Envelope.model_validate(body)
    except ValidationError as e:
        raise ProviderResponseError(
            f"{provider.value} report page is malformed ({e.error_count()} errors)", provider=provider.value
        ) from e
    if envelope.has_more and not envelope.next_page:
        raise ProviderResponseError(
            f"{provider.value} report page says has_more without a next_page", provider=provider.value
        )
    return ReportPage(buckets=list(envelope.data), has_more=envelope.has_more, next_page=envelope.next_page)


def bucket_results(provider: Provider, bucket: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A bucket's result rows (``results``; some doc renderers say ``result``)."""
    results = bucket.get("results", bucket.get("result"))
    if not isinstance(results, list) or not all(isinstance(r, Mapping) for r in results):
        raise ProviderResponseError(f"{provider.value} bucket has no results list", provider=provider.value)
    return results


def utc_day_of_epoch(provider: Provider, value: object) -> date:
    """The UTC day of an epoch-seconds bucket boundary."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProviderResponseError(f"{provider.value} bucket start is not epoch seconds", provider=provider.value)
    return datetime.fromtimestamp(value, tz=UTC).date()


def utc_day_of_rfc3339(provider: Provider, value: object) -> date:
    """The UTC day of an RFC 3339 bucket boundary."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as e:
        raise ProviderResponseError(f"{provider.value} bucket start is not RFC 3339", provider=provider.value) from e
    if parsed.tzinfo is None:
        raise ProviderResponseError(f"{provider.value} bucket start has no timezone", provider=provider.value)
    return parsed.astimezone(UTC).date()


_TIER_UNKNOWN = "tier_unknown"
_SumKey = tuple[str, str | None, str | None, ServiceTier, ContextBand, TokenType, str | None]
"""A record's identity within a provider-day: model, project, key, tier, band, token type, unpriced reason."""


def price_records(provider: Provider, day: date, usage: Iterable[RawUsage]) -> tuple[UsageRecord, ...]:
    """Sum raw counts by record key (dropping zero rows) and price each record at the day's list price."""
    sums: dict[_SumKey, int] = {}
    for u in usage:
        unknown = u.unpriced or (_TIER_UNKNOWN if u.tier_unknown else None)
        key = (u.model, u.project_id, u.api_key_id, u.service_tier, u.context_band, u.token_type, unknown)
        sums[key] = sums.get(key, 0) + u.quantity
    records = []
    for (model, project_id, api_key_id, tier, band, token_type, unknown), quantity in sorted(
        sums.items(), key=_sort_key
    ):
        if quantity == 0:
            continue
        price = None if unknown else list_unit_price(provider, model, token_type, tier, band, day)
        unit = price if isinstance(price, UnitPrice) and priced_where(provider, project_id, model) else None
        records.append(
            UsageRecord(
                provider=provider,
                day=day,
                model=model,
                project_id=project_id,
                api_key_id=api_key_id,
                service_tier=tier,
                context_band=band,
                token_type=token_type,
                quantity=quantity,
                list_unit_price=unit.usd_per_mtok if unit else None,
                list_cost_usd=unit.cost(quantity) if unit else None,
                price_basis=unit.basis if unit else None,
                unpriced_reason=unknown if unknown != _TIER_UNKNOWN else None,
            )
        )
    return tuple(records)


def _sort_key(item: tuple[_SumKey, int]) -> tuple[str, ...]:
    # Absent dimensions sort as "", enums by their value (they are strs).
    model, project_id, api_key_id, tier, band, token_type, unknown = item[0]
    return (model, project_id or "", api_key_id or "", tier, band, token_type, unknown or "")


def build_day(
    provider: Provider,
    day: date,
    parts: Sequence[DayPart],
    failure: DayFailure | None = None,
    *,
    cost_source: CostSource = CostSource.BILLED,
    list_usage: Sequence[RawUsage] | None = None,
) -> ProviderDay:
    """The ``ProviderDay`` from every report's part for the day, or a failed day carrying no partial data.

    ``CostSource.ESTIMATED``: the provider's bill is not readable, so every priced record becomes a cost line at its
    list cost (see ``estimated_cost_lines``) and the day is not reconciled.

    ``list_usage``: the bill's own token quantities (Google's billing export, per SKU); when given, the discount is
    reconciled on them rather than on the usage reports' counts (``shared.domain.usage.reconcile``).
    """
    if failure is not None:
        return ProviderDay(
            provider=provider,
            day=day,
            cost_source=cost_source,
            status=DayStatus.FAILED,
            error_code=failure.code,
            error_message=failure.message,
        )
    costs = tuple(categorised(line) for part in parts for line in part.costs)
    records = price_records(provider, day, settle_tiers([u for part in parts for u in part.usage], costs))
    meters = tuple(meter for part in parts for meter in part.meters)
    estimated = cost_source is CostSource.ESTIMATED
    pending = not estimated and cost_pending(provider, records, costs)
    return ProviderDay(
        provider=provider,
        day=day,
        cost_source=cost_source,
        records=records,
        cost_lines=costs + estimated_cost_lines(records) if estimated else costs,
        meters=meters,
        reconciliation=None if estimated or pending else _reconcile(provider, day, records, costs, list_usage),
        cost_pending=pending,
    )


def _reconcile(
    provider: Provider,
    day: date,
    records: tuple[UsageRecord, ...],
    costs: tuple[CostLine, ...],
    list_usage: Sequence[RawUsage] | None,
) -> Reconciliation:
    if list_usage is None:
        return reconcile(provider, records, costs)
    return reconcile(provider, price_records(provider, day, list_usage), costs, quantities_from_bill=True)


def cost_pending(provider: Provider, records: Sequence[UsageRecord], costs: Sequence[CostLine]) -> bool:
    """Usage the provider bills through its cost endpoint, and no cost line at all for the day yet.

    Cost data lags usage (up to ~48 h, cost-accuracy-and-focus.md §3.7): such a day is not free, its bill is not in.
    Usage billed elsewhere (Anthropic Priority Tier) or at no charge (``PriceBasis.FREE``) expects no cost line,
    nor does usage worth less than a cent at list price (a provider may bill it as nothing).
    """
    if costs:
        return False
    elsewhere = TIERS_BILLED_ELSEWHERE.get(provider, frozenset())
    billable = [r for r in records if r.quantity > 0 and r.service_tier not in elsewhere]
    if any(not r.priced for r in billable):
        return True
    return sum((r.list_cost_usd or Decimal(0) for r in billable), Decimal(0)) >= MIN_ABSOLUTE_GAP_USD


ESTIMATED_LINE_ITEM = "estimated at list price"


def estimated_cost_lines(records: Iterable[UsageRecord]) -> tuple[CostLine, ...]:
    """One token cost line per priced record, at its list cost: what the usage would cost at public prices.

    Unpriced records get no line (an unknown model is reported unpriced, never estimated at $0).
    """
    return tuple(
        CostLine(
            provider=r.provider,
            day=r.day,
            amount_usd=r.list_cost_usd,
            kind=CostKind.TOKENS,
            model=r.model,
            token_type=r.token_type,
            service_tier=r.service_tier,
            context_band=r.context_band,
            line_item=ESTIMATED_LINE_ITEM,
            project_id=r.project_id,
        )
        for r in records
        if r.list_cost_usd is not None
    )
