"""What an organisation consumed in a time window, what it cost, and the per-day ground truth.

Every figure the HTTP endpoints report comes from here, as does ``ProviderSimulator.truth``, so the usage
endpoints, the cost endpoints and the truth agree by construction: a row's billed cost is exactly
``tokens × list unit price / 1e6 × (1 - discount)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from devstack.provider_sim.catalog import DAY_SECONDS, Stream, day_rows, share
from devstack.provider_sim.models import DayTruth, SimOrg, TokenType, TruthRow
from devstack.provider_sim.pricing import Price, unit_price

_PER_MTOK = Decimal(1_000_000)
T = TypeVar("T")


@dataclass(frozen=True)
class Slice:
    """A stream's traffic within one window."""

    stream: Stream
    tokens: tuple[tuple[TokenType, int], ...]
    requests: int

    def count(self, token_type: TokenType) -> int:
        return sum(n for t, n in self.tokens if t == token_type)


@dataclass(frozen=True)
class CostItem:
    """The cost of one token meter of one slice."""

    stream: Stream
    token_type: TokenType
    tokens: int
    price: Price
    list_usd: Decimal | None
    billed_usd: Decimal
    in_cost_report: bool


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def late_fraction(org: SimOrg, day: date, now: datetime) -> Decimal:
    """Share of the final volume a day reports as of ``now`` (the late-data knob)."""
    days_ago = (now.date() - day).days
    return org.late_fraction if 0 <= days_ago < org.late_days else Decimal(1)


def cost_reported(org: SimOrg, day: date, now: datetime) -> bool:
    """Whether the cost endpoints report ``day`` yet (the cost-lag knob): a lagging day's buckets are empty."""
    return (now.date() - day).days >= org.cost_lag_days


def usage_window(org: SimOrg, start: datetime, end: datetime, now: datetime) -> list[Slice]:
    """Traffic in ``[start, end)``, which must lie within one UTC day; nothing after ``now``."""
    day = start.astimezone(UTC).date()
    midnight = day_start(day)
    cut = min(end, now, midnight + timedelta(days=1))
    if day < org.history_start or cut <= start:
        return []
    first, last = int((start - midnight).total_seconds()), int((cut - midnight).total_seconds())
    fraction = late_fraction(org, day, now)
    return list(_slices(org.provider, org.org_id, org.seed, org.scale, day, first, min(last, DAY_SECONDS), fraction))


@lru_cache(maxsize=8192)
def _slices(
    provider: str, org_id: str, seed: int, scale: Decimal, day: date, first: int, last: int, fraction: Decimal
) -> tuple[Slice, ...]:
    """A day's traffic in its seconds ``[first, last)`` at ``fraction`` of its final volume: the same for every
    request that asks (each page of a usage or cost report asks it of every day it covers)."""
    slices = []
    for row in day_rows(provider, org_id, seed, scale, day):
        tokens = tuple((t, share(int(n * fraction), seed, first, last)) for t, n in row.tokens if int(n * fraction))
        tokens = tuple((t, n) for t, n in tokens if n)
        if tokens:
            requests = share(int(row.requests * fraction), seed, first, last)
            slices.append(Slice(row.stream, tokens, requests))
    return tuple(slices)


def cost_items(org: SimOrg, slices: Iterable[Slice], day: date) -> list[CostItem]:
    """Price every meter of ``slices`` at ``day``'s list prices, less the organisation's discount."""
    keep = Decimal(1) - org.discount
    items = []
    for s in slices:
        for token_type, tokens in s.tokens:
            price = unit_price(
                org.provider, s.stream.model, token_type, s.stream.price_tier, s.stream.context_window, day
            )
            if price.usd_per_mtok is None:
                items.append(CostItem(s.stream, token_type, tokens, price, None, Decimal(0), False))
                continue
            list_usd = Decimal(tokens) * price.usd_per_mtok / _PER_MTOK
            items.append(CostItem(s.stream, token_type, tokens, price, list_usd, list_usd * keep, True))
    return items


def truth(org: SimOrg, day: date, now: datetime) -> DayTruth:
    """The day's numbers exactly as the endpoints report them at ``now``."""
    start = day_start(day)
    items = cost_items(org, usage_window(org, start, start + timedelta(days=1), now), day)
    merged: dict[tuple[object, ...], TruthRow] = {}
    for item in items:
        s = item.stream
        key: tuple[object, ...] = (s.model, s.project_id, s.workspace_id, s.api_key_id, s.service_tier, s.batch)
        key += (s.context_window, item.token_type)
        row = merged.get(key)
        if row is None:
            merged[key] = TruthRow(
                model=s.model,
                project_id=s.project_id,
                workspace_id=s.workspace_id,
                api_key_id=s.api_key_id,
                service_tier=s.service_tier,
                batch=s.batch,
                context_window=s.context_window,
                token_type=item.token_type,
                tokens=item.tokens,
                price_source=item.price.source,
                unit_price_usd_per_mtok=item.price.usd_per_mtok,
                list_cost_usd=item.list_usd,
                billed_cost_usd=item.billed_usd,
                in_cost_report=item.in_cost_report,
            )
        else:
            list_usd = None if row.list_cost_usd is None or item.list_usd is None else row.list_cost_usd + item.list_usd
            merged[key] = row.model_copy(
                update={
                    "tokens": row.tokens + item.tokens,
                    "list_cost_usd": list_usd,
                    "billed_cost_usd": row.billed_cost_usd + item.billed_usd,
                }
            )
    rows = sorted(merged.values(), key=_row_order)
    return DayTruth(
        org_id=org.org_id,
        provider=org.provider,
        day=day,
        complete=day < now.date() and late_fraction(org, day, now) == 1,
        cost_reported=cost_reported(org, day, now),
        rows=rows,
        tokens_total=sum(r.tokens for r in rows),
        list_cost_usd=sum((r.list_cost_usd for r in rows if r.list_cost_usd is not None), Decimal(0)),
        billed_cost_usd=sum((r.billed_cost_usd for r in rows), Decimal(0)),
    )


def _row_order(row: TruthRow) -> tuple[str, ...]:
    return (
        row.model,
        row.project_id or row.workspace_id or "",
        row.api_key_id or "",
        row.service_tier,
        str(row.batch),
        row.context_window or "",
        row.token_type,
    )


def grouped(items: Iterable[T], key: Callable[[T], tuple[Any, ...]]) -> list[tuple[tuple[Any, ...], list[T]]]:
    """``items`` grouped by ``key``, groups in a stable order (``None`` first, then by value)."""
    groups: dict[tuple[Any, ...], list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return sorted(groups.items(), key=lambda kv: tuple((v is not None, str(v)) for v in kv[0]))
