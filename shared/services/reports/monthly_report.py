"""Use case: assemble an enterprise's report for one calendar month (UTC) from its rollups and the published data.

Reads the month's and the previous month's usage (a rollup each when the months are complete), the month's
optimisation figures, and the month's peer benchmark when one is published. Used by the report worker (the monthly
email) and by the ``reports`` function (on-demand exports), so both show the same figures.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from shared.domain.enterprise.model import Enterprise, ProviderName, ProviderStatus
from shared.domain.peers.models import ALL, Metric
from shared.domain.reports.monthly import (
    KeyWarning,
    MonthlyReport,
    Opportunity,
    PeerSummary,
    ReportEnterprise,
    key_warning,
    market,
    previous_month,
    reconciliation_notes,
    trend,
)
from shared.domain.sync.coverage import SyncCoverage
from shared.domain.usage.forecast import DEFAULT_HISTORY_DAYS
from shared.domain.usage.month import month_bounds, month_key
from shared.domain.usage.view import sync_notes
from shared.errors import InvalidInput, NotFound
from shared.ports import BenchmarkStore, Clock, SnapshotStore
from shared.services.peers.read_benchmarks import read_benchmark
from shared.services.usage.spend_forecast import forecast_for_range
from shared.services.usage.usage_report import usage_for_range

log = logging.getLogger(__name__)

METRIC_LABELS = {Metric.PRICE_RATIO: "Price vs list", Metric.BLENDED_RATE: "Blended rate per 1M tokens"}

MAX_MONTHS_BACK = 24
"""Usage snapshots are kept 24 months; older reports cannot be rebuilt."""


def check_report_month(month: str, today: date) -> None:
    """Raises ``InvalidInput`` (``invalid_month``) unless ``month`` is ``YYYY-MM`` within the last 24 months."""
    try:
        first, _ = month_bounds(month)
    except ValueError as e:
        raise InvalidInput("month must be YYYY-MM", code="invalid_month") from e
    if len(month) != 7 or first > today:
        raise InvalidInput("month must be YYYY-MM and not in the future", code="invalid_month")
    oldest = (today.year * 12 + today.month - 1) - MAX_MONTHS_BACK
    if first.year * 12 + first.month - 1 < oldest:
        raise InvalidInput(f"reports cover the last {MAX_MONTHS_BACK} months", code="invalid_month")


def build_monthly_report(
    snapshots: SnapshotStore,
    benchmarks: BenchmarkStore,
    clock: Clock,
    enterprise: Enterprise,
    month: str,
    *,
    forecast_history_days: int = DEFAULT_HISTORY_DAYS,
    coverage: Mapping[ProviderName, SyncCoverage] | None = None,
) -> MonthlyReport:
    """The report of ``enterprise`` for ``month`` (``YYYY-MM``); the current month gives month-to-date figures.

    The report carries the current month's forecast when it is about the current month (month to date) or the one
    just before it (the monthly email, sent early in the next month): the outlook a reader acts on. ``coverage``
    (the sync's records) puts the month's missing and pending days in its notes, never as $0.
    """
    now = clock.now()
    today = now.date()
    check_report_month(month, today)
    first, last = month_bounds(month)
    complete = last < today
    end = last if complete else today
    usage = usage_for_range(snapshots, enterprise.id, first, end, coverage=coverage)
    this_month = month_key(today)
    forecast = None
    if month in (this_month, previous_month(this_month)):
        this_first, this_last = month_bounds(this_month)
        forecast = forecast_for_range(
            snapshots, enterprise.id, this_first, this_last, today=today, history_days=forecast_history_days
        )
    before_key = previous_month(month)
    before_first, before_last = month_bounds(before_key)
    before = usage_for_range(snapshots, enterprise.id, before_first, before_last)
    rollup = snapshots.month(enterprise.id, month)
    optimisation = rollup.optimization if rollup is not None else None
    savings = optimisation.savings_by_opportunity if optimisation else {}
    opportunities = [
        Opportunity(kind=k, savings_usd=v) for k, v in sorted(savings.items(), key=lambda kv: (-kv[1], kv[0])) if v > 0
    ]
    report = MonthlyReport(
        enterprise=ReportEnterprise(id=enterprise.id, name=enterprise.name),
        month=month,
        start=first,
        end=end,
        complete=complete,
        generated_at=now,
        totals=usage.totals,
        effective_rates=usage.effective_rates,
        market=market(usage),
        by_provider=usage.by_provider,
        cost_notes=usage.notes,
        sync_notes=sync_notes(usage),
        forecast=forecast,
        by_model=sorted(usage.by_model, key=lambda r: (-r.cost_usd, r.key)),
        by_day=usage.by_day,
        trend=trend(usage, before, before_key),
        opportunities=opportunities,
        potential_savings_usd=optimisation.potential_savings_usd if optimisation else Decimal(0),
        cache_hit_rate=optimisation.cache_hit_rate if optimisation else None,
        batch_share=optimisation.batch_share if optimisation else None,
        peers=_peers(benchmarks, snapshots, enterprise, month),
        reconciliation=reconciliation_notes(usage),
        unpriced_models=usage.unpriced_models,
        key_warnings=_key_warnings(enterprise),
        price_data_version=usage.price_data_version,
    )
    log.info("monthly report built", extra={"enterprise_id": enterprise.id, "month": month, "days": len(usage.by_day)})
    return report


def _peers(benchmarks: BenchmarkStore, snapshots: SnapshotStore, enterprise: Enterprise, month: str) -> PeerSummary:
    if not enterprise.settings.share_anonymous_benchmarks:
        return PeerSummary(status="not_sharing")
    try:
        view = read_benchmark(benchmarks, snapshots, enterprise.id, enterprise.industry, True, month)
    except NotFound:
        return PeerSummary(status="not_published")
    everyone = view.document.bucket(ALL)
    band = everyone.count_band.value if everyone is not None and everyone.count_band else None
    if view.position is None or view.position.market_index_only:
        return PeerSummary(status="not_published", enterprise_count_band=band)
    lines = [
        f"{METRIC_LABELS[metric]}: {found.summary}"
        for metric, found in view.position.metrics.items()
        if found.status == "positioned"
    ]
    return PeerSummary(status="positioned", enterprise_count_band=band, position=view.position, lines=lines)


def _key_warnings(enterprise: Enterprise) -> list[KeyWarning]:
    found = []
    for provider, state in sorted(enterprise.providers.items()):
        if state.status is ProviderStatus.CONNECTED:
            continue
        since = state.last_sync if state.status is ProviderStatus.KEY_FAILED else state.connected_at
        warning = key_warning(provider.value, state.status.value, since)
        if warning is not None:
            found.append(warning)
    return found
