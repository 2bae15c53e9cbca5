"""Evaluate an enterprise's alerts after a sync stored its snapshots, and deliver what is due.

1. **Read** the alert settings (no document: no budgets, spike alerts on) and the daily spend history the rules need
   (about two months: the spike baseline, the forecast's history, the budget months). The months the sync just
   read and wrote come with the call (``known_months``); the others are rebuilt from their rollups (one document
   per month, ``UsageMonth.daily``), and only a month whose rollup is missing or keeps no days is read from its
   daily snapshots.
2. **Judge** (``shared.domain.alerts.rules``): budget crossings on month-to-date spend; spend spikes per provider
   and model on settled days only, so a day the providers still restate never alerts on a partial figure.
3. **Record** each finding create-if-absent under its id ``(kind, period, scope)``, *before* anything is sent, with
   the channels it goes to (email; the webhook too when one is configured). A finding already recorded is left
   as it is: it is never sent twice.
4. **Deliver** every open alert (new ones, and earlier ones whose send failed) with ``AlertDelivery``.

The sync worker calls ``evaluate`` after every sync, retries and duplicates included: all of it is idempotent. After a
history backfill it only delivers (``judge=False``): the reads of step 1 would be repeated by every chunk of the
backfill for findings that are old news, and the next daily sync judges the same data.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.config import Settings
from shared.domain.alerts.anomaly import SpikeRule
from shared.domain.alerts.budgets import DEFAULT_ALERT_SETTINGS, AlertSettings
from shared.domain.alerts.records import AlertCandidate, Channel, Delivery, new_alert
from shared.domain.alerts.rules import AlertRules, anomaly_candidates, budget_candidates
from shared.domain.enterprise.model import Enterprise
from shared.domain.usage.month import UsageMonth, month_snapshots
from shared.domain.usage.snapshot import UsageSnapshot
from shared.ports import AlertSettingsStore, AlertStore, Clock, SnapshotStore
from shared.services.alerts.deliver_alert import AlertDelivery

log = logging.getLogger(__name__)

MAX_OPEN_PER_SYNC = 50
"""Open alerts delivered per sync; more wait for the next one (a flood is a bug somewhere, not news)."""


def alert_rules(settings: Settings) -> AlertRules:
    return AlertRules(
        settle_days=settings.sync_repull_days,
        catchup_days=settings.alert_anomaly_catchup_days,
        spike=SpikeRule(
            baseline_days=settings.alert_anomaly_baseline_days,
            min_baseline_days=settings.alert_anomaly_min_baseline_days,
            threshold=settings.alert_anomaly_threshold_mads,
            min_excess_usd=settings.alert_anomaly_min_usd,
        ),
        forecast_history_days=settings.alert_forecast_history_days,
    )


@dataclass
class AlertRun:
    found: int = 0
    created: list[str] = field(default_factory=list)
    delivered: dict[str, dict[str, str]] = field(default_factory=dict)
    """Alert id → channel → outcome of this run's attempts."""


class EvaluateAlerts:
    def __init__(
        self,
        *,
        snapshots: SnapshotStore,
        alert_settings: AlertSettingsStore,
        alerts: AlertStore,
        delivery: AlertDelivery,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._snapshots = snapshots
        self._alert_settings = alert_settings
        self._alerts = alerts
        self._delivery = delivery
        self._clock = clock
        self._settings = settings
        self._rules = alert_rules(settings)

    def evaluate(
        self,
        enterprise: Enterprise,
        *,
        judge: bool = True,
        known_months: Mapping[str, Mapping[date, UsageSnapshot]] | None = None,
    ) -> AlertRun:
        """Judge (unless ``judge`` is false), record and deliver ``enterprise``'s alerts.

        ``known_months``: ``YYYY-MM`` → every daily snapshot of months the caller holds as stored (the sync's own
        months), so they are not read again.

        Raises:
            DependencyUnavailable: Firestore failed; what was recorded stays, the next sync carries on.
        """
        run = AlertRun()
        if judge:
            self._record(enterprise.id, run, known_months or {})
        started = self._clock.now()
        for alert in self._alerts.open_alerts(enterprise.id, limit=MAX_OPEN_PER_SYNC):
            if not self._time_left_for_a_send(started):
                log.warning("alert delivery budget spent", extra={"enterprise_id": enterprise.id})
                break  # the rest stay open for the next sync
            outcomes = self._delivery.deliver(enterprise, alert)
            if outcomes:
                run.delivered[alert.id] = {c.value: o for c, o in outcomes.items()}
        if run.found or run.delivered:
            log.info(
                "alerts evaluated",
                extra={
                    "enterprise_id": enterprise.id,
                    "alerts_found": run.found,
                    "alerts_created": run.created,
                    "alerts_delivered": run.delivered,
                },
            )
        return run

    def _time_left_for_a_send(self, started: datetime) -> bool:
        """Whether one more send (its webhook at most ``webhook_deadline_s``) still ends within the sync's budget."""
        spent = (self._clock.now() - started).total_seconds()
        return spent + self._settings.webhook_deadline_s <= self._settings.alert_delivery_budget_s

    def _record(self, enterprise_id: str, run: AlertRun, known: Mapping[str, Mapping[date, UsageSnapshot]]) -> None:
        """Judge the enterprise's spend and create a record for every finding not recorded yet."""
        config = self._alert_settings.get(enterprise_id) or DEFAULT_ALERT_SETTINGS
        candidates = self._judge(enterprise_id, config, known)
        run.found = len(candidates)
        now = self._clock.now()
        channels = {Channel.EMAIL: Delivery()}
        if config.webhook is not None:
            channels[Channel.WEBHOOK] = Delivery()
        for candidate in candidates:
            alert = new_alert(
                candidate, channels=channels, now=now, retention_months=self._settings.snapshot_retention_months
            )
            _, created = self._alerts.create(enterprise_id, alert)
            if created:
                run.created.append(alert.id)

    def _judge(
        self, enterprise_id: str, config: AlertSettings, known: Mapping[str, Mapping[date, UsageSnapshot]]
    ) -> list[AlertCandidate]:
        if not config.budgets and not config.anomaly_alerts:
            return []
        today = self._clock.now().date()
        days = self._history(enterprise_id, self._rules.months_to_read(today), known)
        found = budget_candidates(config, days, today, self._rules)
        if config.anomaly_alerts:
            found += anomaly_candidates(days, today, self._rules)
        return found

    def _history(
        self, enterprise_id: str, months: list[str], known: Mapping[str, Mapping[date, UsageSnapshot]]
    ) -> dict[date, UsageSnapshot]:
        """The daily snapshots of ``months``: those given, then rollups, then snapshots for what rollups lack."""
        days: dict[date, UsageSnapshot] = {}
        for month in months:
            days.update(known.get(month, {}))
        rest = [m for m in months if m not in known]
        rollups = self._snapshots.rollups(enterprise_id, rest) if rest else {}
        unrolled = []
        for month in rest:
            rollup = rollups.get(month)
            rebuilt = None
            if rollup is not None:
                rebuilt = _rebuilt(rollup, self._settings.snapshot_retention_months, enterprise_id)
            if rebuilt is None:
                # No rollup (usually no usage, but a month may hold days without one) or no decodable days in it.
                unrolled.append(month)
            else:
                days.update(rebuilt)
        if unrolled:
            days.update(self._snapshots.days(enterprise_id, unrolled))
        return days


def _rebuilt(rollup: UsageMonth, retention_months: int, enterprise_id: str) -> dict[date, UsageSnapshot] | None:
    try:
        return month_snapshots(rollup, retention_months=retention_months)
    except (ValueError, ArithmeticError, zlib.error):
        log.exception("rollup days unreadable", extra={"enterprise_id": enterprise_id, "month": rollup.month})
        return None
