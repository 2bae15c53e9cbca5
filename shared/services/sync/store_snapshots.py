"""Turn a sync's provider pulls into daily snapshots and monthly rollups, writing only what changed.

Each month the window touches is one read-modify-write in a transaction (``SnapshotStore.update_month``, ADR 0016):
for each of the window's days in it the stored snapshot is rebuilt from its provider parts: the pulled providers'
good days replace their parts, everything else is kept (``shared.domain.usage.snapshot.refresh_snapshot``). A day is
written only if its document differs from the stored one. The month is then recomputed from all of its daily
snapshots and written with its days if it differs from the stored rollup: a changed day, but also a rollup in an
older layout (without its days' parts, ADR 0011) or one missing beside its days, is rewritten. A duplicate task finds
nothing changed and writes nothing. Because the month is read and written in one transaction, tasks of one enterprise
that run side by side (overlapping backfill windows, two providers connected back to back) never drop each other's
provider parts, whatever the interleaving.

The index level of a day (``STCI-FRONTIER``, ``shared.domain.peers.market_index``) and the optimisation savings of a
provider-day (``shared.domain.optimisation.opportunities``, scaled by that provider's realised price ratio) are computed
here, from pure domain functions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from shared.domain.enterprise.model import ProviderName
from shared.domain.optimisation.opportunities import compute_optimisation
from shared.domain.peers.market_index import FRONTIER, index_for_day
from shared.domain.usage.month import UsageMonth, month_key, rollup_month
from shared.domain.usage.records import DayStatus, ProviderDay, ProviderPull
from shared.domain.usage.snapshot import IndexLevel, UsageSnapshot, refresh_snapshot
from shared.domain.usage.snapshot_parts import ProviderPart, provider_part
from shared.ports import MonthChange, MonthWrite, SnapshotStore

log = logging.getLogger(__name__)

IndexLookup = Callable[[date], IndexLevel | None]
SavingsLookup = Callable[[ProviderDay], Mapping[str, Decimal]]


@lru_cache(maxsize=1024)
def frontier_level(day: date) -> IndexLevel | None:
    """The published ``STCI-FRONTIER`` level of ``day``; ``None`` when the index publishes none that day."""
    index = index_for_day(day)
    level = index.levels.get(FRONTIER)
    if level is None or level.blended is None:
        return None
    version = f"{index.basket_version}/{index.price_data_version}/{index.inputs_sha256[:12]}"
    return IndexLevel(blended=level.blended, version=version)


def opportunity_savings(day: ProviderDay) -> dict[str, Decimal]:
    """The day's estimated savings by opportunity kind, in the money this provider actually bills."""
    recon = day.reconciliation
    if recon is None or not day.records:
        return {}
    result = compute_optimisation(day.records, recon.billed_usd, recon.list_usd)
    savings: dict[str, Decimal] = {}
    for opportunity in result.opportunities:
        kind = opportunity.kind.value
        savings[kind] = savings.get(kind, Decimal(0)) + opportunity.savings_usd
    return savings


@dataclass(frozen=True)
class Stored:
    days_written: int
    months_written: int
    failed_days: dict[ProviderName, list[date]]
    month_days: dict[str, Mapping[date, UsageSnapshot]] = field(default_factory=dict)
    """``YYYY-MM`` → every day of each month the window touched, as committed (``MonthWrite.month_days``)."""


@dataclass(frozen=True)
class PreparedPull:
    """One provider's pulled days as the parts its snapshots take (and the days it failed), computed as soon as its
    pull ends: while the other providers still answer, not after the slowest one."""

    parts: dict[date, ProviderPart]
    failed: dict[date, str]


def prepare_pull(pull: ProviderPull, days: list[date], savings: SavingsLookup = opportunity_savings) -> PreparedPull:
    """The window's ``days`` of ``pull``: each good day's provider part, each failed day's error code."""
    parts: dict[date, ProviderPart] = {}
    failed: dict[date, str] = {}
    for day in days:
        provider_day = pull.days.get(day)
        if provider_day is None:
            continue
        if provider_day.status is DayStatus.OK:
            parts[day] = provider_part(provider_day, pull.price_data_version, savings(provider_day))
        else:
            failed[day] = provider_day.error_code or "provider_day_failed"
    return PreparedPull(parts, failed)


def store_pulls(
    store: SnapshotStore,
    enterprise_id: str,
    pulls: Mapping[ProviderName, ProviderPull],
    days: list[date],
    *,
    now: datetime,
    retention_months: int,
    index: IndexLookup = frontier_level,
    savings: SavingsLookup = opportunity_savings,
    prepared: Mapping[ProviderName, PreparedPull] | None = None,
    parallel: bool = False,
) -> Stored:
    """Rebuild the window's snapshots from ``pulls`` and write the changed days and their months; ``prepared``:
    the pulls' parts already computed (``prepare_pull`` of the same window), by provider; ``parallel``: the months'
    transactions run side by side (each in a thread of its own)."""
    fresh: dict[date, dict[str, ProviderPart]] = {d: {} for d in days}
    failed: dict[date, dict[str, str]] = {d: {} for d in days}
    failed_days: dict[ProviderName, list[date]] = {}
    for provider, pull in pulls.items():
        ready = (prepared or {}).get(provider) or prepare_pull(pull, days, savings)
        for day, part in ready.parts.items():
            fresh[day][provider.value] = part
        for day, code in ready.failed.items():
            failed[day][provider.value] = code
            failed_days.setdefault(provider, []).append(day)
    if not pulls:
        return Stored(0, 0, failed_days)
    days_written = months_written = 0
    month_days: dict[str, Mapping[date, UsageSnapshot]] = {}

    def update(month: str) -> MonthWrite:
        change = _month_change(
            [d for d in days if month_key(d) == month], fresh, failed, month, index, retention_months, enterprise_id
        )
        return store.update_month(enterprise_id, month, change, synced_at=now, retention_months=retention_months)

    months = sorted({month_key(d) for d in days})
    if parallel and len(months) > 1:
        # Each month is its own transaction on its own documents: side by side, their round trips overlap.
        with ThreadPoolExecutor(max_workers=len(months), thread_name_prefix="month") as pool:
            writes = list(pool.map(update, months))
    else:
        writes = [update(month) for month in months]
    for month, written in zip(months, writes, strict=True):
        days_written += len(written.days)
        months_written += written.rollup is not None
        month_days[month] = written.month_days
    if days_written or months_written:
        log.info(
            "snapshots written",
            extra={"enterprise_id": enterprise_id, "days_written": days_written, "months_written": months_written},
        )
    return Stored(days_written, months_written, failed_days, month_days)


def _month_change(
    days: list[date],
    fresh: Mapping[date, Mapping[str, ProviderPart]],
    failed: Mapping[date, Mapping[str, str]],
    month: str,
    index: IndexLookup,
    retention_months: int,
    enterprise_id: str,
) -> MonthChange:
    """The read-modify-write of one month: it runs inside the store's transaction, possibly more than once."""

    def change(existing: Mapping[date, UsageSnapshot], stored_rollup: UsageMonth | None) -> MonthWrite:
        changed: list[UsageSnapshot] = []
        for day in days:
            before = existing.get(day)
            after = refresh_snapshot(
                day, before, fresh[day], failed[day], index=index(day), retention_months=retention_months
            )
            if after is not None and after != before:
                changed.append(after)
        merged = {**existing, **{s.date: s for s in changed}}
        # The stored rollup's bytes of each day it keeps and this change leaves alone are kept, not encoded again.
        kept = stored_rollup.daily if stored_rollup is not None and stored_rollup.has_daily else None
        dirty = {s.date.isoformat() for s in changed}
        encoded = {key: data for key, data in (kept or {}).items() if key not in dirty}
        rollup = rollup_month(month, merged.values(), retention_months=retention_months, encoded=encoded)
        if rollup is None or rollup == stored_rollup:
            return MonthWrite(changed, None, merged)
        if not rollup.has_daily:
            log.warning("rollup too large to keep its days", extra={"enterprise_id": enterprise_id, "month": month})
        return MonthWrite(changed, rollup, merged)

    return change
