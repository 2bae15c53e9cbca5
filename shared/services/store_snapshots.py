"""Turn a sync's provider pulls into daily snapshots and monthly rollups, writing only what changed.

Each month the window touches is one read-modify-write in a transaction (``SnapshotStore.update_month``, ADR 0016):
for each of the window's days in it the stored snapshot is rebuilt from its provider parts: the pulled providers'
good days replace their parts, everything else is kept (``shared.domain.snapshot.refresh_snapshot``). A day is
written only if its document differs from the stored one. The month is then recomputed from all of its daily
snapshots and written with its days if it differs from the stored rollup: a changed day, but also a rollup in an
older layout (without its days' parts, ADR 0011) or one missing beside its days, is rewritten. A duplicate task finds
nothing changed and writes nothing. Because the month is read and written in one transaction, tasks of one enterprise
that run side by side (overlapping backfill windows, two providers connected back to back) never drop each other's
provider parts, whatever the interleaving.

The index level of a day (``STCI-FRONTIER``, ``shared.domain.market_index``) and the optimisation savings of a
provider-day (``shared.domain.optimisation``, scaled by that provider's realised price ratio) are computed here, from
pure domain functions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from shared.domain.enterprise import ProviderName
from shared.domain.market_index import FRONTIER, index_for_day
from shared.domain.optimisation import compute_optimisation
from shared.domain.snapshot import IndexLevel, UsageSnapshot, refresh_snapshot
from shared.domain.snapshot_parts import ProviderPart, provider_part
from shared.domain.usage import DayStatus, ProviderDay, ProviderPull
from shared.domain.usage_month import UsageMonth, month_key, rollup_month
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
) -> Stored:
    """Rebuild the window's snapshots from ``pulls`` and write the changed days and their months."""
    fresh: dict[date, dict[str, ProviderPart]] = {d: {} for d in days}
    failed: dict[date, dict[str, str]] = {d: {} for d in days}
    failed_days: dict[ProviderName, list[date]] = {}
    for provider, pull in pulls.items():
        for day in days:
            provider_day = pull.days.get(day)
            if provider_day is None:
                continue
            if provider_day.status is DayStatus.OK:
                part = provider_part(provider_day, pull.price_data_version, savings(provider_day))
                fresh[day][provider.value] = part
            else:
                failed[day][provider.value] = provider_day.error_code or "provider_day_failed"
                failed_days.setdefault(provider, []).append(day)
    if not pulls:
        return Stored(0, 0, failed_days)
    days_written = months_written = 0
    month_days: dict[str, Mapping[date, UsageSnapshot]] = {}
    for month in sorted({month_key(d) for d in days}):
        change = _month_change(
            [d for d in days if month_key(d) == month], fresh, failed, month, index, retention_months, enterprise_id
        )
        written = store.update_month(enterprise_id, month, change, synced_at=now, retention_months=retention_months)
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
        rollup = rollup_month(month, merged.values(), retention_months=retention_months)
        if rollup is None or rollup == stored_rollup:
            return MonthWrite(changed, None, merged)
        if not rollup.has_daily:
            log.warning("rollup too large to keep its days", extra={"enterprise_id": enterprise_id, "month": month})
        return MonthWrite(changed, rollup, merged)

    return change
