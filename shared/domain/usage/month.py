"""Monthly rollups (``enterprises/{id}/usage_months/{YYYY-MM}``), recomputed from the month's daily snapshots.

A month is the sum of its days' provider parts, with every rate and ratio derived again from the sums (never an
average of daily rates), so a 12-month dashboard reads 12 documents and shows exactly what the days add up to. The
month's index level is the mean of its daily levels (benchmarks-and-index.md §2). ``by_day`` keeps the few figures
a chart needs per day.

``daily`` keeps each day's provider parts in compact form (``shared.domain.usage.rollup_days``), so partial months and
filtered views are served from the rollup too (ADR 0011); ``index_level_sum`` and ``index_level_days`` let a range
average the daily index levels exactly. A rollup written before these fields existed has them ``None``: it still
serves whole unfiltered months, and the reader goes back to the month's snapshots for anything else. A month whose
detail would not fit ``MAX_ROLLUP_BYTES`` keeps no ``daily`` either (logged by the sync).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.usage.rollup_days import DAILY_VERSION, RolledDay, decode_day, encode_day
from shared.domain.usage.snapshot import IndexLevel, UsageSnapshot, UsageView, build_snapshot, expiry, view_fields
from shared.domain.usage.snapshot_parts import ProviderPart, sum_parts
from shared.domain.usage.tally import DERIVED_PLACES, Money, Ratio

_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")

MAX_ROLLUP_BYTES = 800_000
"""A rollup larger than this (its JSON without ``daily``, plus ``daily``'s bytes: more than Firestore counts) keeps no
``daily``, so the document stays below Firestore's 1 MiB. A large enterprise's worst month (31 days x 2 providers x
60 models x 10 projects) takes about a third of it (``tests/unit/test_rollup_days.py`` measures it)."""


def month_key(day: date) -> str:
    """``YYYY-MM`` of ``day``: the rollup's document id."""
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` month; ``ValueError`` for anything else (``２０２５-１０`` included:
    ``int`` reads any Unicode digit)."""
    if not _MONTH.fullmatch(month):
        raise ValueError(f"not a YYYY-MM month: {month!r}")
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


class DayFigures(BaseModel):
    """One day's headline figures inside its month's rollup."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    total_cost_usd: Money
    estimated_cost_usd: Money = Decimal(0)
    """The part of ``total_cost_usd`` estimated at list prices (a provider whose bill is not readable)."""
    list_cost_usd: Money
    effective_blended_rate: Ratio | None
    failed_providers: list[str] = Field(default_factory=list)
    credits_usd: Money = Decimal(0)
    """The part of ``total_cost_usd`` that is credits and adjustments."""
    pending_providers: list[str] = Field(default_factory=list)
    """Providers whose usage of the day is in but whose bill is not yet: the day's cost is not final."""


class UsageMonth(UsageView):
    """``enterprises/{id}/usage_months/{YYYY-MM}``."""

    # ``daily`` is binary: in JSON (logs, exports, tests) it is base64, so a rollup always dumps and loads back.
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    month: str
    days: int
    """Days with a snapshot."""
    by_day: dict[str, DayFigures] = Field(default_factory=dict)
    expire_at: datetime
    index_level_sum: Money | None = None
    """Sum of the month's published daily index levels; ``None`` in rollups older than the field."""
    index_level_days: int | None = None
    """Days with a published index level."""
    daily_version: int | None = None
    """``shared.domain.usage.rollup_days.DAILY_VERSION`` of ``daily``; ``None`` when the rollup keeps no daily
    detail."""
    daily: dict[str, bytes] | None = None
    """``YYYY-MM-DD`` → the day's parts, encoded (``shared.domain.usage.rollup_days.encode_day``)."""

    @property
    def has_daily(self) -> bool:
        """Whether ``daily`` can be decoded by this version of the code."""
        return self.daily is not None and self.daily_version == DAILY_VERSION


def rollup_month(
    month: str,
    days: Iterable[UsageSnapshot],
    *,
    retention_months: int,
    encoded: Mapping[str, bytes] | None = None,
) -> UsageMonth | None:
    """The month's rollup from its daily snapshots (any order); ``None`` when it has none. ``encoded``: days already
    encoded (``YYYY-MM-DD`` → ``encode_day``, at ``DAILY_VERSION``), taken as they are: the unchanged days of the
    stored rollup, whose snapshots were decoded from these very bytes."""
    first, last = month_bounds(month)
    snapshots = sorted((s for s in days if first <= s.date <= last), key=lambda s: s.date)
    if not snapshots:
        return None
    by_provider: dict[str, list[ProviderPart]] = {}
    for snapshot in snapshots:
        for provider, part in snapshot.by_provider.items():
            by_provider.setdefault(provider, []).append(part)
    parts = {provider: sum_parts(days) for provider, days in by_provider.items()}
    levels = [s.benchmark.stci_frontier_blended for s in snapshots if s.benchmark.stci_frontier_blended is not None]
    sums = UsageMonth.model_validate(
        {
            **view_fields(parts, _month_index(snapshots)),
            "month": month,
            "days": len(snapshots),
            "by_day": {s.date.isoformat(): _figures(s) for s in snapshots},
            "expire_at": expiry(last, retention_months),
            "index_level_sum": sum(levels, Decimal(0)),
            "index_level_days": len(levels),
        }
    )
    known = encoded or {}
    daily = {}
    for s in snapshots:
        key = s.date.isoformat()
        daily[key] = known.get(key) or encode_day(RolledDay.of(s))
    if len(sums.model_dump_json()) + sum(len(data) for data in daily.values()) > MAX_ROLLUP_BYTES:
        return sums
    return sums.model_copy(update={"daily_version": DAILY_VERSION, "daily": daily})


def month_snapshots(month: UsageMonth, *, retention_months: int) -> dict[date, UsageSnapshot] | None:
    """The month's daily snapshots rebuilt from the rollup's days (one document instead of ~30: the alerts' spend
    history); ``None`` when the rollup keeps no decodable ``daily`` (older layout, or too large), so the caller reads
    the snapshots themselves. A day's parts, failures and index level are all its snapshot is derived from (ADR 0011).
    Raises ``ValueError``, ``ArithmeticError`` or ``zlib.error`` when ``daily`` is malformed."""
    if not month.has_daily:
        return None
    assert month.daily is not None
    found: dict[date, UsageSnapshot] = {}
    for key, data in month.daily.items():
        day = decode_day(date.fromisoformat(key), data)
        found[day.date] = build_snapshot(
            day.date, day.by_provider, failed=day.failed_providers, index=day.index, retention_months=retention_months
        )
    return found


def _month_index(snapshots: list[UsageSnapshot]) -> IndexLevel | None:
    levels = [s.benchmark.stci_frontier_blended for s in snapshots if s.benchmark.stci_frontier_blended is not None]
    if not levels:
        return None
    versions = sorted({s.index_version for s in snapshots if s.index_version})
    mean = (sum(levels, Decimal(0)) / len(levels)).quantize(DERIVED_PLACES)
    return IndexLevel(blended=mean, version=",".join(versions))


def _figures(snapshot: UsageSnapshot) -> DayFigures:
    t = snapshot.totals
    return DayFigures(
        input_tokens=t.input_tokens,
        output_tokens=t.output_tokens,
        cached_tokens=t.cached_tokens,
        total_cost_usd=t.total_cost_usd,
        estimated_cost_usd=t.estimated_cost_usd,
        list_cost_usd=t.list_cost_usd,
        effective_blended_rate=snapshot.rates.effective_blended_rate,
        failed_providers=sorted(snapshot.failed_providers),
        credits_usd=t.credits_usd,
        pending_providers=sorted(p for p, part in snapshot.by_provider.items() if part.pending_days),
    )
