"""The month-end forecast shown with a usage range that includes the current month (``GET /enterprise/usage``).

The series comes from the monthly rollups the usage read already holds (ADR 0011): without a filter their
``by_day`` figures, with a provider or model filter their days' ``daily`` detail, decoded and filtered like the
usage report. Only the forecast's history months outside the range are read on top, one rollup per month, and a
rollup in an older layout (without its days) under a filter falls back to that month's daily snapshots. The method
itself is ``shared.domain.usage.forecast.forecast_month_end``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal

from shared.domain.alerts.spend_series import rollup_daily_spend
from shared.domain.usage.forecast import MonthForecast, forecast_month_end
from shared.domain.usage.month import UsageMonth, month_bounds, month_key
from shared.domain.usage.snapshot_parts import ProviderPart
from shared.domain.usage.view import filtered_parts, months_of, rolled_days
from shared.ports import SnapshotStore


def forecast_months(today: date, *, history_days: int) -> list[str]:
    """The months whose days the forecast made on ``today`` uses: its history up to yesterday, and this month."""
    return months_of(today - timedelta(days=history_days), today)


def forecast_for_range(
    store: SnapshotStore,
    enterprise_id: str,
    start: date,
    end: date,
    *,
    today: date,
    history_days: int,
    provider: str | None = None,
    model: str | None = None,
    rollups: Mapping[str, UsageMonth | None] | None = None,
) -> MonthForecast | None:
    """The current month's forecast if ``[start, end]`` overlaps the current month (UTC), else ``None``.

    ``rollups`` are those already read, ``None`` for a month read without one (a month absent from it is read
    here); a month without a rollup has no usage.
    """
    first, last = month_bounds(month_key(today))
    if end < first or start > last:
        return None
    as_of = today - timedelta(days=1)
    months = forecast_months(today, history_days=history_days)
    known: dict[str, UsageMonth | None] = dict(rollups or {})
    missing = [m for m in months if m not in known]
    if missing:
        known.update(store.rollups(enterprise_id, missing))
    filtered = provider is not None or model is not None
    series: dict[date, Decimal] = {}
    unsettled: set[date] = set()
    legacy: list[str] = []
    for month in months:
        rollup = known.get(month)
        if rollup is None:
            continue
        if not filtered:
            series.update(rollup_daily_spend([rollup]))
            unsettled.update(date.fromisoformat(k) for k, f in rollup.by_day.items() if f.pending_providers)
        elif rollup.has_daily:
            month_first, month_last = month_bounds(month)
            decoded = rolled_days(rollup, month_first, month_last, provider=provider, model=model, breakdowns=False)
            for day in decoded:  # already filtered
                series[day.date] = _spend(day.by_provider.values())
                if any(p.pending_days for p in day.by_provider.values()):
                    unsettled.add(day.date)
        else:
            legacy.append(month)
    if legacy:
        for snapshot in store.days(enterprise_id, legacy).values():
            parts = filtered_parts(snapshot.by_provider, provider=provider, model=model)
            series[snapshot.date] = _spend(parts.values())
            if any(p.pending_days for p in parts.values()):
                unsettled.add(snapshot.date)
    return forecast_month_end(
        series, as_of=as_of, month=month_key(today), history_days=history_days, unsettled=unsettled
    )


def _spend(parts: Iterable[ProviderPart]) -> Decimal:
    return sum((p.tally.cost_usd for p in parts), Decimal(0))
