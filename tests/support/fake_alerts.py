"""Behaving fakes of the alert ports: settings, the alert store and the webhook sender.

``FakeAlertStore`` applies the same pure transitions as the Firestore adapter (``claim``, ``settle``) and keeps
create-if-absent semantics; ``FakeWebhookSender`` keeps what it was given and can fail like a receiver that is down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from shared.domain.alerts.budgets import AlertSettings, WebhookTarget
from shared.domain.alerts.records import Alert, Channel, Outcome, claim, settle
from shared.domain.enterprise.audit import AuditEntry
from shared.errors import DependencyUnavailable, NotFound
from shared.ports import AlertPage, AlertSettingsChange, AuditCursor


class FakeAlertSettings:
    def __init__(self) -> None:
        self.settings: dict[str, AlertSettings] = {}
        self.webhooks: dict[str, WebhookTarget] = {}
        self.audit: dict[str, list[AuditEntry]] = {}

    def get(self, enterprise_id: str) -> AlertSettings | None:
        return self.settings.get(enterprise_id)

    def webhook(self, enterprise_id: str) -> WebhookTarget | None:
        return self.webhooks.get(enterprise_id)

    def update(
        self,
        enterprise_id: str,
        change: Callable[[AlertSettings | None, WebhookTarget | None], AlertSettingsChange],
    ) -> AlertSettingsChange:
        current, target = self.settings.get(enterprise_id), self.webhooks.get(enterprise_id)
        change(current, target)  # like a transaction retry: the change runs more than once
        result = change(current, target)
        self.settings[enterprise_id] = result.settings
        if result.webhook is None:
            self.webhooks.pop(enterprise_id, None)
        else:
            self.webhooks[enterprise_id] = result.webhook
        self.audit.setdefault(enterprise_id, []).extend(result.audit)
        return result


class FakeAlertStore:
    def __init__(self) -> None:
        self.alerts: dict[tuple[str, str], Alert] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("the database is temporarily unavailable (fake outage)")

    def create(self, enterprise_id: str, alert: Alert) -> tuple[Alert, bool]:
        self._check()
        key = (enterprise_id, alert.id)
        if key in self.alerts:
            return self.alerts[key], False
        self.alerts[key] = alert
        return alert, True

    def get(self, enterprise_id: str, alert_id: str) -> Alert | None:
        self._check()
        return self.alerts.get((enterprise_id, alert_id))

    def open_alerts(self, enterprise_id: str, *, limit: int) -> list[Alert]:
        self._check()
        return [a for (e, _), a in sorted(self.alerts.items()) if e == enterprise_id and a.open][:limit]

    def _apply(self, enterprise_id: str, alert_id: str, change: Alert | None) -> Alert | None:
        if change is not None:
            self.alerts[(enterprise_id, alert_id)] = change
        return change

    def _get(self, enterprise_id: str, alert_id: str) -> Alert:
        self._check()
        found = self.alerts.get((enterprise_id, alert_id))
        if found is None:
            raise NotFound("alert not found", code="alert_not_found")
        return found

    def claim(
        self,
        enterprise_id: str,
        alert_id: str,
        channel: Channel,
        *,
        now: datetime,
        lease_s: float,
        max_attempts: int,
        from_queue: bool = False,
    ) -> Alert | None:
        current = self._get(enterprise_id, alert_id)
        lease = timedelta(seconds=lease_s)
        claimed = claim(current, channel, now=now, lease=lease, max_attempts=max_attempts, from_queue=from_queue)
        return self._apply(enterprise_id, alert_id, claimed)

    def settle(
        self, enterprise_id: str, alert_id: str, channel: Channel, outcome: Outcome, *, now: datetime, code: str | None
    ) -> None:
        current = self._get(enterprise_id, alert_id)
        self._apply(enterprise_id, alert_id, settle(current, channel, outcome, now=now, code=code))

    def page(self, enterprise_id: str, *, limit: int, after: AuditCursor | None) -> AlertPage:
        self._check()
        ordered = sorted(
            (a for (e, _), a in self.alerts.items() if e == enterprise_id),
            key=lambda a: (a.created_at, a.id),
            reverse=True,
        )
        if after is not None:
            ordered = [a for a in ordered if (a.created_at, a.id) < (after.at, after.entry_id)]
        found = ordered[:limit]
        more = len(ordered) > limit
        return AlertPage(alerts=found, next=AuditCursor(found[-1].created_at, found[-1].id) if more else None)

    def of(self, enterprise_id: str) -> list[Alert]:
        return [a for (e, _), a in sorted(self.alerts.items()) if e == enterprise_id]


class FakeWebhookSender:
    """Keeps every POST it accepts; ``failures`` queued errors are raised first, one per post."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []
        self.failures: list[Exception] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append((url, body, dict(headers)))
