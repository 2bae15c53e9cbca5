"""Daily spend series read from usage snapshots and rollups, for one scope (enterprise, provider, project, model).

Spend is what the providers billed (``cost_usd`` of the tallies, the snapshots' ``total_cost_usd``). A day is
*unknown* (absent from the series) when it has no snapshot, or when the scope's provider has no part that day (not
synced then, or its data failed); a known day without usage is 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from shared.domain.alerts.records import AlertScope
from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.month import UsageMonth
from shared.domain.usage.snapshot import UsageSnapshot

_ZERO = Decimal(0)


def scope_spend(day: UsageSnapshot, scope: AlertScope) -> Decimal | None:
    """What ``scope`` was billed on ``day``; ``None`` when unknown."""
    if scope.provider is None:
        return day.totals.total_cost_usd if day.by_provider else None
    part = day.by_provider.get(scope.provider.value)
    if part is None:
        return None
    if scope.project is not None:
        tally = part.by_project.get(scope.project)
    elif scope.model is not None:
        tally = part.by_model.get(scope.model)
    else:
        return part.tally.cost_usd
    return tally.cost_usd if tally is not None else _ZERO


def daily_spend(days: Iterable[UsageSnapshot], scope: AlertScope) -> dict[date, Decimal]:
    """``scope``'s known daily spend."""
    series = {}
    for day in days:
        spend = scope_spend(day, scope)
        if spend is not None:
            series[day.date] = spend
    return dict(sorted(series.items()))


def unsettled_days(days: Iterable[UsageSnapshot], scope: AlertScope) -> set[date]:
    """Days whose spend in ``scope`` is not final: a provider of the scope has usage it has not billed yet."""
    found = set()
    for day in days:
        parts = [p for name, p in day.by_provider.items() if scope.provider is None or name == scope.provider.value]
        if any(p.pending_days for p in parts):
            found.add(day.date)
    return found


def rollup_daily_spend(months: Iterable[UsageMonth]) -> dict[date, Decimal]:
    """The enterprise's daily spend from monthly rollups' ``by_day`` (one document per month instead of ~30)."""
    return dict(
        sorted((date.fromisoformat(day), figures.total_cost_usd) for m in months for day, figures in m.by_day.items())
    )


def model_scopes(days: Iterable[UsageSnapshot]) -> list[AlertScope]:
    """Every (provider, model) with billed spend on some of ``days``, in a stable order."""
    seen: set[tuple[str, str]] = set()
    for day in days:
        for provider, part in day.by_provider.items():
            seen.update((provider, model) for model, tally in part.by_model.items() if tally.cost_usd)
    return [AlertScope(provider=ProviderName(p), model=m) for p, m in sorted(seen)]
