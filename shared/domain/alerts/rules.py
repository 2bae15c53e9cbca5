"""Which alerts an enterprise's spend calls for, from its daily snapshots: budget crossings and spend spikes.

**Budgets** are judged on the spend of the month so far, partial days included (a crossing is a crossing, however
late the data that caused it). The previous month is judged too while the sync still restates some of its days
(``settle_days`` after it ends), so a late day that pushes a closed month over its budget is still reported. Only
the highest threshold reached is a candidate: a month that jumps past both thresholds at once sends one
``budget_critical``, not a warning as well.

**Spikes** (``shared.domain.alerts.anomaly``) are judged per provider and model, and only on *settled* days: the sync
re-pulls the last ``settle_days`` days (``Settings.sync_repull_days``) because providers restate them, so a day is
judged once the sync has pulled it for the last time (``day ≤ today - settle_days``), never while its figure is
still partial. The newest ``catchup_days`` settled days are judged on every sync, so a missed sync delays a spike
alert rather than losing it; alert ids make the repeats harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from shared.domain.alerts.anomaly import SpikeRule, detect_spike
from shared.domain.alerts.budgets import AlertSettings, Budget
from shared.domain.alerts.records import AlertCandidate, AlertFigures, AlertKind
from shared.domain.alerts.spend_series import daily_spend, model_scopes, unsettled_days
from shared.domain.usage.forecast import forecast_month_end
from shared.domain.usage.month import month_bounds, month_key
from shared.domain.usage.snapshot import UsageSnapshot

PERCENT_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class AlertRules:
    settle_days: int = 3
    """Days the sync re-pulls because providers restate them (``Settings.sync_repull_days``)."""
    catchup_days: int = 3
    """Newest settled days judged for spikes on every sync."""
    spike: SpikeRule = field(default_factory=SpikeRule)
    forecast_history_days: int = 28

    def budget_months(self, today: date) -> list[str]:
        """The current month, and the previous one while the sync still restates its last days."""
        first = today.replace(day=1)
        previous_end = first - timedelta(days=1)
        months = [month_key(today)]
        if previous_end >= today - timedelta(days=self.settle_days):
            months.insert(0, month_key(previous_end))
        return months

    def judged_days(self, today: date) -> list[date]:
        """The settled days a spike is looked for on, oldest first."""
        newest = today - timedelta(days=self.settle_days)
        return [newest - timedelta(days=n) for n in reversed(range(self.catchup_days))]

    def months_to_read(self, today: date) -> list[str]:
        """The ``YYYY-MM`` months of snapshots the rules need."""
        oldest = min(
            self.judged_days(today)[0] - timedelta(days=self.spike.baseline_days),
            today - timedelta(days=self.forecast_history_days),
            month_bounds(self.budget_months(today)[0])[0],
        )
        months = []
        cursor = oldest.replace(day=1)
        while cursor <= today:
            months.append(month_key(cursor))
            cursor = month_bounds(month_key(cursor))[1] + timedelta(days=1)
        return months


def budget_candidates(
    settings: AlertSettings, days: Mapping[date, UsageSnapshot], today: date, rules: AlertRules
) -> list[AlertCandidate]:
    """One candidate per budget and month whose spend reached a threshold (the highest one reached)."""
    found = []
    for budget in settings.budgets:
        series = daily_spend(days.values(), budget.scope)
        for month in rules.budget_months(today):
            first, last = month_bounds(month)
            spend = sum((v for d, v in series.items() if first <= d <= last), Decimal(0))
            level = budget.level(spend)
            if level is None:
                continue
            open_days = unsettled_days(days.values(), budget.scope)
            figures = _budget_figures(budget, spend, level.kind, (series, open_days), month, today, rules)
            found.append(AlertCandidate(kind=level.kind, period=month, scope=budget.scope, figures=figures))
    return found


def _budget_figures(
    budget: Budget,
    spend: Decimal,
    kind: AlertKind,
    series: tuple[Mapping[date, Decimal], set[date]],
    month: str,
    today: date,
    rules: AlertRules,
) -> AlertFigures:
    """``series``: the scope's daily spend and its unsettled days."""
    forecast = None
    if month == month_key(today):
        spend_by_day, open_days = series
        forecast = forecast_month_end(
            spend_by_day,
            as_of=today - timedelta(days=1),
            month=month,
            history_days=rules.forecast_history_days,
            unsettled=open_days,
        )
    threshold = budget.critical_percent if kind is AlertKind.BUDGET_CRITICAL else budget.warning_percent
    return AlertFigures(
        spend_usd=spend,
        budget_usd=budget.monthly_usd,
        threshold_percent=threshold,
        percent_of_budget=(spend * 100 / budget.monthly_usd).quantize(PERCENT_PLACES),
        forecast_usd=forecast.forecast_usd if forecast else None,
        forecast_method=forecast.method if forecast else None,
    )


def anomaly_candidates(days: Mapping[date, UsageSnapshot], today: date, rules: AlertRules) -> list[AlertCandidate]:
    """One candidate per (provider, model) and settled day whose spend spiked."""
    found = []
    judged = rules.judged_days(today)
    for scope in model_scopes(days.values()):
        series = daily_spend(days.values(), scope)
        for day in judged:
            spike = detect_spike(series, day, rules.spike)
            if spike is None:
                continue
            figures = AlertFigures(
                spend_usd=spike.spend_usd,
                baseline_median_usd=spike.baseline_median_usd,
                baseline_mad_usd=spike.baseline_mad_usd,
                baseline_days=spike.baseline_days,
                excess_usd=spike.excess_usd,
            )
            found.append(
                AlertCandidate(kind=AlertKind.SPEND_ANOMALY, period=day.isoformat(), scope=scope, figures=figures)
            )
    return found
