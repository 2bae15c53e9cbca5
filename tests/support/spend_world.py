"""Simulated daily spend served to a real sync: the harness of the alert tests.

``SpendWorld`` wraps a ``SyncWorld`` (behaving fakes of every port) whose provider sources serve cost lines per model
and day as a test sets them, and runs the daily sync the way the dispatcher schedules it: at 02:05 UTC on day D, the
window ``[D - sync_repull_days, D)``. Changing a day's spend between syncs is how a provider restates a day.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email.message import EmailMessage

from shared.domain.alerts.budgets import AlertSettings, Budget
from shared.domain.alerts.messages import KIND_HEADER
from shared.domain.usage.records import Provider
from shared.services.sync.sync_report import SyncReport
from tests.support.connect_world import ENTERPRISE_ID
from tests.support.fakes import FixedClock
from tests.support.sync_world import SyncWorld
from tests.support.usage_days import line, provider_day

CENT = Decimal("0.01")
MODEL = "gpt-4o"


def weekly_series(
    start: date, end: date, *, weekday: str, weekend: str, jitter: float = 0.15, seed: int = 7
) -> dict[date, Decimal]:
    """``[start, end]`` at ``weekday``/``weekend`` USD a day, each day off by up to ``jitter`` (deterministic)."""
    rng = random.Random(seed)
    series = {}
    day = start
    while day <= end:
        base = Decimal(weekend if day.weekday() >= 5 else weekday)
        factor = Decimal(str(round(1 + rng.uniform(-jitter, jitter), 4)))
        series[day] = (base * factor).quantize(CENT)
        day += timedelta(days=1)
    return series


class SpendWorld:
    def __init__(self, today: date) -> None:
        self.world = SyncWorld(clock=FixedClock(datetime.combine(today, time(2, 5), tzinfo=UTC)))
        self._spend: dict[tuple[Provider, date], dict[str, Decimal]] = {}

    @property
    def clock(self) -> FixedClock:
        return self.world.clock

    def set_spend(self, day: date, usd: Decimal, *, model: str = MODEL, provider: Provider = Provider.OPENAI) -> None:
        """What the provider reports for ``model`` on ``day`` from now on."""
        models = self._spend.setdefault((provider, day), {})
        models[model] = usd
        lines = [line(provider, day, str(v), model=m) for m, v in sorted(models.items())]
        self.world.sources.serve(provider_day(provider, day, [], lines))

    def set_series(self, series: dict[date, Decimal], *, model: str = MODEL) -> None:
        for day, usd in series.items():
            self.set_spend(day, usd, model=model)

    def budgets(self, *budgets: Budget, anomaly_alerts: bool = True) -> None:
        self.world.alert_settings.settings[ENTERPRISE_ID] = AlertSettings(
            budgets=list(budgets), anomaly_alerts=anomaly_alerts
        )

    def backfill(self, start: date, end_exclusive: date) -> SyncReport:
        payload = {"enterprise_id": ENTERPRISE_ID, "start": str(start), "end": str(end_exclusive), "reason": "backfill"}
        return self.world.run(payload, read_id=f"backfill-{start}")

    def daily_sync(self, day: date, *, repull_days: int = 3) -> SyncReport:
        """The daily sync of ``day`` (run again with the same day: a retried or duplicate task)."""
        self.clock.set(datetime.combine(day, time(2, 5), tzinfo=UTC))
        start = day - timedelta(days=repull_days)
        payload = {"enterprise_id": ENTERPRISE_ID, "start": str(start), "end": str(day), "reason": "daily"}
        return self.world.run(payload, read_id=f"daily-{day}")

    def daily_syncs(self, days: Iterable[date]) -> None:
        for day in days:
            self.daily_sync(day)

    def emails(self, kind: str | None = None) -> list[EmailMessage]:
        return [m for m in self.world.mailer.sent if kind is None or m[KIND_HEADER] == kind]


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
