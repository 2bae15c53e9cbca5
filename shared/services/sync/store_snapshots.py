"""Turn a sync's provider pulls into daily snapshots and monthly rollups, writing only what changed.

Each month the window touches is one read-modify-write in a transaction (``SnapshotStore.update_months``, ADR 0016;
the two months of a daily window or a backfill chunk share one, ADR 0027): for each of the window's days in it the
stored snapshot is rebuilt from its provider parts: the pulled providers'
good days replace their parts, everything else is kept (``shared.domain.usage.snapshot.refresh_snapshot``). A day is
written only if its document differs from the stored one. The month is then recomputed from all of its daily
snapshots and written with its days if it differs from the stored rollup: a changed day, but also a rollup in an
older layout (without its days' parts, ADR 0011) or one missing beside its days, is rewritten. A duplicate task finds
nothing changed and writes nothing. Because the month is read and written in one transaction, tasks of one enterprise
that run side by side (overlapping backfill windows, two providers connected back to back) never drop each other's
provider parts, whatever the interleaving. A month read ahead (while the providers answered) is first written as it
was read, in one commit that holds only if nobody wrote it since (``SnapshotStore.update_months_ahead``): the same
guarantee, without a transaction's locks, and so without the snapshots lease the transactions are serialised by.

The index level of a day (``STCI-FRONTIER``, ``shared.domain.peers.market_index``) is computed here; the pulls'
parts come from ``shared.services.sync.provider_parts``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from shared.domain.enterprise.model import ProviderName
from shared.domain.peers.market_index import FRONTIER, index_for_day
from shared.domain.usage.month import UsageMonth, month_key, rollup_month
from shared.domain.usage.records import ProviderPull
from shared.domain.usage.snapshot import IndexLevel, UsageSnapshot, refresh_snapshot
from shared.domain.usage.snapshot_parts import ProviderPart
from shared.ports import MonthChange, MonthRead, MonthWrite, SnapshotStore
from shared.services.sync.provider_parts import PreparedPull, SavingsLookup, opportunity_savings, prepare_pull

log = logging.getLogger(__name__)

IndexLookup = Callable[[date], IndexLevel | None]


@lru_cache(maxsize=1024)
def frontier_level(day: date) -> IndexLevel | None:
    """The published ``STCI-FRONTIER`` level of ``day``; ``None`` when the index publishes none that day."""
    index = index_for_day(day)
    level = index.levels.get(FRONTIER)
    if level is None or level.blended is None:
        return None
    version = f"{index.basket_version}/{index.price_data_version}/{index.inputs_sha256[:12]}"
    return IndexLevel(blended=level.blended, version=version)


@dataclass(frozen=True)
class Stored:
    days_written: int
    months_written: int
    failed_days: dict[ProviderName, list[date]]
    month_days: dict[str, Mapping[date, UsageSnapshot]] = field(default_factory=dict)
    """``YYYY-MM`` → every day of each month the window touched, as committed (``MonthWrite.month_days``)."""


MONTHS_PER_TRANSACTION = 2
"""Months updated in one transaction: a daily window or a backfill chunk (``CHUNK_DAYS``) spans at most two, so it
takes one read and one commit. Longer windows take several transactions, whose commits stay well below Firestore's
10 MiB (a rollup is at most ``MAX_ROLLUP_BYTES``)."""


@dataclass(frozen=True)
class _Computed:
    """A month's change as computed ahead of its transaction, and exactly what it was computed from."""

    read: MonthRead
    fresh: dict[date, dict[str, ProviderPart]]
    failed: dict[date, dict[str, str]]
    write: MonthWrite


@dataclass(frozen=True)
class Precomputed:
    """Month changes computed ahead of the transactions (``precompute_months``), while the last responses of the
    pulls were still out. A transaction takes one only when it is handed the very days and rollup it was computed on
    (nobody wrote the month since it was read ahead) and the pulls' parts are the very same objects: the change is a
    pure function, so its result is then the one the transaction would compute."""

    months: dict[str, _Computed] = field(default_factory=dict)


def precompute_months(
    read: Mapping[str, MonthRead],
    prepared: Mapping[ProviderName, PreparedPull],
    days: list[date],
    *,
    index: IndexLookup = frontier_level,
    retention_months: int,
    enterprise_id: str,
) -> Precomputed:
    """The window's months read ahead (``SnapshotStore.read_ahead``) changed by the parts ``prepared`` so far (the
    parts of days pulls built early included, ``EarlyPrepared``), for ``store_pulls`` to take where they still
    hold."""
    fresh, failed, _ = _parts_by_day(prepared, days)
    computed: dict[str, _Computed] = {}
    for month, month_read in read.items():
        month_days = [d for d in days if month_key(d) == month]
        if not month_days:
            continue
        change = _month_change(month_days, fresh, failed, month, index, retention_months, enterprise_id)
        computed[month] = _Computed(
            month_read,
            {d: fresh[d] for d in month_days},
            {d: failed[d] for d in month_days},
            change(*month_read),
        )
    return Precomputed(computed)


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
    precomputed: Precomputed | None = None,
    parallel: bool = False,
    lease: Callable[[], None] | None = None,
) -> Stored:
    """Rebuild the window's snapshots from ``pulls`` and write the changed days and their months; ``prepared``:
    the pulls' parts already computed (``prepare_pull`` of the same window), by provider; ``precomputed``: month
    changes computed ahead, taken where they still hold; ``parallel``: the transactions of a window longer than
    ``MONTHS_PER_TRANSACTION`` months run side by side (each in a thread of its own); ``lease``: called (from any
    of those threads, possibly more than once) before the first transaction, to take the snapshots lease.

    Each group of months is first written as it was read ahead (``SnapshotStore.update_months_ahead``: one commit
    at the versions read, which holds no lock and so needs no lease); only a group it cannot take (not read ahead,
    or written since) goes to its transaction."""
    ready = {
        provider: (prepared or {}).get(provider) or prepare_pull(pull, days, savings)
        for provider, pull in pulls.items()
    }
    fresh, failed, failed_days = _parts_by_day(ready, days)
    if not pulls:
        return Stored(0, 0, failed_days)
    days_written = months_written = 0
    month_days: dict[str, Mapping[date, UsageSnapshot]] = {}

    def update(group: list[str]) -> dict[str, MonthWrite]:
        changes = {}
        for month in group:
            in_month = [d for d in days if month_key(d) == month]
            change = _month_change(in_month, fresh, failed, month, index, retention_months, enterprise_id)
            ahead = (precomputed.months if precomputed else {}).get(month)
            changes[month] = change if ahead is None else _taken_when_same(ahead, change, in_month, fresh, failed)
        written = store.update_months_ahead(enterprise_id, changes, synced_at=now)
        if written is not None:
            return written
        if lease is not None:
            lease()
        return store.update_months(enterprise_id, changes, synced_at=now, retention_months=retention_months)

    months = sorted({month_key(d) for d in days})
    groups = [months[i : i + MONTHS_PER_TRANSACTION] for i in range(0, len(months), MONTHS_PER_TRANSACTION)]
    if parallel and len(groups) > 1:
        # Each group is its own transaction on its own documents: side by side, their round trips overlap.
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="months") as pool:
            results = list(pool.map(update, groups))
    else:
        results = [update(group) for group in groups]
    writes = {month: written for result in results for month, written in result.items()}
    for month in months:
        written = writes[month]
        days_written += len(written.days)
        months_written += written.rollup is not None
        month_days[month] = written.month_days
    if days_written or months_written:
        log.info(
            "snapshots written",
            extra={"enterprise_id": enterprise_id, "days_written": days_written, "months_written": months_written},
        )
    return Stored(days_written, months_written, failed_days, month_days)


def _parts_by_day(
    prepared: Mapping[ProviderName, PreparedPull], days: list[date]
) -> tuple[dict[date, dict[str, ProviderPart]], dict[date, dict[str, str]], dict[ProviderName, list[date]]]:
    """Each day's fresh parts and failures by provider, and each provider's failed days."""
    fresh: dict[date, dict[str, ProviderPart]] = {d: {} for d in days}
    failed: dict[date, dict[str, str]] = {d: {} for d in days}
    failed_days: dict[ProviderName, list[date]] = {}
    for provider, ready in prepared.items():
        for day, part in ready.parts.items():
            fresh[day][provider.value] = part
        for day, code in ready.failed.items():
            failed[day][provider.value] = code
            failed_days.setdefault(provider, []).append(day)
    return fresh, failed, failed_days


def _taken_when_same(
    ahead: _Computed,
    change: MonthChange,
    days: list[date],
    fresh: Mapping[date, Mapping[str, ProviderPart]],
    failed: Mapping[date, Mapping[str, str]],
) -> MonthChange:
    """``change``, answered by ``ahead`` when handed the very month and parts it was computed from."""
    same_parts = all(
        fresh[d].keys() == ahead.fresh[d].keys()
        and all(part is ahead.fresh[d][p] for p, part in fresh[d].items())
        and failed[d] == ahead.failed[d]
        for d in days
    )

    def taken(existing: Mapping[date, UsageSnapshot], stored_rollup: UsageMonth | None) -> MonthWrite:
        if same_parts and existing is ahead.read[0] and stored_rollup is ahead.read[1]:
            return ahead.write
        return change(existing, stored_rollup)

    return taken


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
