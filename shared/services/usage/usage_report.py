"""Reading an enterprise's usage: a date range's report, its FOCUS-style CSV, last month's recommendations."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from shared.domain.enterprise.model import ProviderName
from shared.domain.sync.coverage import SyncCoverage, coverage_in, coverage_notes, gaps
from shared.domain.usage.csv_export import focus_rows, to_csv
from shared.domain.usage.forecast import DEFAULT_HISTORY_DAYS
from shared.domain.usage.month import month_bounds, month_key
from shared.domain.usage.snapshot import Optimization, UsageSnapshot
from shared.domain.usage.view import UsageReport, check_range, months_of, needs_snapshots, split_range, usage_report
from shared.ports import Clock, SnapshotStore
from shared.services.usage.spend_forecast import forecast_for_range, forecast_months

log = logging.getLogger(__name__)


def usage_for_range(
    store: SnapshotStore,
    enterprise_id: str,
    start: date,
    end: date,
    *,
    provider: str | None = None,
    model: str | None = None,
    forecast_on: date | None = None,
    forecast_history_days: int = DEFAULT_HISTORY_DAYS,
    coverage: Mapping[ProviderName, SyncCoverage] | Callable[[], Mapping[ProviderName, SyncCoverage]] | None = None,
) -> UsageReport:
    """The usage of ``[start, end]``, read from one rollup per month the range touches (ADR 0011).

    A month without a rollup has no usage (its days and rollup are always written together). Only a rollup written
    before rollups kept their days' parts sends the reader to that month's daily snapshots, when the month is
    partial or the view filtered. With ``forecast_on`` (today, UTC), a range overlapping that month also carries the
    month-end forecast (``shared.services.usage.spend_forecast``), its history months read in the same round trip.
    ``coverage`` (the sync's records) names the range's missing, pending and never-available days; given as a
    callable (a read already under way), it is asked only once the rollups are read, so the two reads overlap.
    Raises ``InvalidInput`` for an inverted or too long range.
    """
    check_range(start, end)
    filtered = provider is not None or model is not None
    wanted = months_of(start, end)
    forecasting = forecast_on is not None and month_key(forecast_on) in wanted
    if forecast_on is not None and forecasting:
        wanted = sorted(set(wanted) | set(forecast_months(forecast_on, history_days=forecast_history_days)))
    read = store.rollups(enterprise_id, wanted)
    rollups = {k: m for k, m in read.items() if start <= month_bounds(k)[1] and month_bounds(k)[0] <= end}
    legacy = sorted(k for k, m in rollups.items() if needs_snapshots(m, start, end, filtered=filtered))
    days = store.days(enterprise_id, legacy).values() if legacy else []
    months = [m for k, m in rollups.items() if k not in legacy]
    log.info("usage read", extra={"enterprise_id": enterprise_id, "months": len(read), "day_months": legacy})
    report = usage_report(start, end, months, days, provider=provider, model=model)
    records = coverage() if callable(coverage) else coverage
    ranges = coverage_in(records or {}, start, end, provider=provider)
    if ranges:
        report = report.model_copy(update={"coverage": ranges, "notes": [*report.notes, *coverage_notes(ranges)]})
    if forecast_on is None or not forecasting:
        return report
    forecast = forecast_for_range(
        store,
        enterprise_id,
        start,
        end,
        today=forecast_on,
        history_days=forecast_history_days,
        provider=provider,
        model=model,
        rollups={k: read.get(k) for k in wanted},
    )
    return report.model_copy(update={"forecast": forecast}) if forecast else report


def _days(store: SnapshotStore, enterprise_id: str, start: date, end: date) -> list[UsageSnapshot]:
    whole, partial = split_range(start, end)
    found = store.days(enterprise_id, whole + partial)
    return [d for day, d in sorted(found.items()) if start <= day <= end]


def usage_csv(
    store: SnapshotStore,
    enterprise_id: str,
    start: date,
    end: date,
    coverage: Mapping[ProviderName, SyncCoverage] | None = None,
) -> str:
    """The FOCUS-style CSV of ``[start, end]`` (``shared.domain.usage.csv_export``), read from daily snapshots; days the
    sync could not pull (``coverage``) are rows of their own, never $0."""
    check_range(start, end)
    lost = gaps(coverage_in(coverage or {}, start, end))
    return to_csv(focus_rows(_days(store, enterprise_id, start, end), lost))


@dataclass(frozen=True)
class MonthOptimisation:
    month: str
    optimization: Optimization | None
    """``None`` when the month has no rollup."""


def last_month_recommendations(store: SnapshotStore, clock: Clock, enterprise_id: str) -> MonthOptimisation:
    """The optimisation figures of the last complete calendar month (UTC)."""
    first_of_this_month = clock.now().date().replace(day=1)
    key = month_key(first_of_this_month - timedelta(days=1))
    rollup = store.month(enterprise_id, key)
    return MonthOptimisation(month=key, optimization=rollup.optimization if rollup else None)
