"""The month-end forecast shown with a usage range that includes the current month (``GET /enterprise/usage``).

The series comes from the cheapest documents that hold it: without a filter, the monthly rollups' ``by_day``
figures (one document per month); with a provider or model filter, the daily snapshots, filtered like the usage
report. The method itself is ``shared.domain.forecast.forecast_month_end``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from shared.domain.forecast import MonthForecast, forecast_month_end
from shared.domain.spend_series import rollup_daily_spend
from shared.domain.usage_month import month_bounds, month_key
from shared.domain.usage_view import filtered_parts
from shared.ports import Clock, SnapshotStore


def _months(first: date, last: date) -> list[str]:
    months = []
    cursor = first.replace(day=1)
    while cursor <= last:
        months.append(month_key(cursor))
        cursor = month_bounds(month_key(cursor))[1] + timedelta(days=1)
    return months


def forecast_for_range(
    store: SnapshotStore,
    clock: Clock,
    enterprise_id: str,
    start: date,
    end: date,
    *,
    provider: str | None = None,
    model: str | None = None,
    history_days: int,
) -> MonthForecast | None:
    """The current month's forecast if ``[start, end]`` overlaps the current month (UTC), else ``None``."""
    today = clock.now().date()
    first, last = month_bounds(month_key(today))
    if end < first or start > last:
        return None
    as_of = today - timedelta(days=1)
    months = _months(as_of - timedelta(days=history_days - 1), today)
    series: dict[date, Decimal] = {}
    day_months = months if provider or model else []
    if not day_months:
        for month in months:
            rollup = store.month(enterprise_id, month)
            if rollup is None:
                day_months.append(month)
            else:
                series.update(rollup_daily_spend([rollup]))
    if day_months:
        for day, snapshot in store.days(enterprise_id, day_months).items():
            parts = filtered_parts(snapshot.by_provider, provider=provider, model=model)
            series[day] = sum((p.tally.cost_usd for p in parts.values()), Decimal(0))
    return forecast_month_end(series, as_of=as_of, month=month_key(today), history_days=history_days)
