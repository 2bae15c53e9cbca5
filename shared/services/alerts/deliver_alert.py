"""Deliver one alert on each of its channels, at most once per channel: claim, send, settle.

For each channel still to deliver, the alert store's transactional claim (``pending`` → ``sending``, leased) decides
which sync sends; that sync sends and then settles the channel:

* sent → ``sent``: final, never sent again;
* a transient email failure (mail relay down, ``DependencyUnavailable``) → ``pending``: the next sync retries,
  until ``Settings.alert_max_send_attempts`` claims have been used (then ``failed``);
* a transient webhook failure → a named, delayed ``webhook_deliver`` task is enqueued and the channel is ``queued``:
  the task retries it with the queue's backoff (``shared.services.alerts.webhook_retry``), never this sync, never the
  next one. Only if the task cannot be enqueued does the channel go back to ``pending`` for the next sync;
* a permanent refusal (``mail_rejected``, ``webhook_rejected``, ``webhook_destination_refused``) → ``failed``;
* nobody to send to (no recipient, the webhook removed since) → ``skipped``.

The one gap is a sync that dies after the relay accepted a message and before settling: once its lease runs out the
next sync sends again. Exactly-once holds for everything short of a crash in that instant.

Email goes to the enterprise's ``settings.report_recipients``, or its admins when that list is empty.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.config import Settings
from shared.domain.alerts.messages import alert_email, webhook_body
from shared.domain.alerts.records import Alert, Channel, DeliveryState, Outcome
from shared.domain.alerts.webhook_signature import signed_headers
from shared.domain.enterprise.members import report_recipients
from shared.domain.enterprise.model import Enterprise
from shared.errors import DependencyUnavailable, PlatformError
from shared.ports import AlertSettingsStore, AlertStore, Clock, Mailer, TaskQueue, WebhookSender

log = logging.getLogger(__name__)


def alert_recipients(enterprise: Enterprise) -> list[str]:
    """The report recipients that are members, or the admins' emails when there are none."""
    return report_recipients(enterprise)


class AlertDelivery:
    def __init__(
        self,
        *,
        alerts: AlertStore,
        alert_settings: AlertSettingsStore,
        mailer: Mailer,
        webhooks: WebhookSender,
        tasks: TaskQueue,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._tasks = tasks
        self._alerts = alerts
        self._alert_settings = alert_settings
        self._mailer = mailer
        self._webhooks = webhooks
        self._clock = clock
        self._settings = settings

    def deliver(self, enterprise: Enterprise, alert: Alert) -> dict[Channel, Outcome]:
        """Send ``alert`` on every channel this call could claim; returns how each of those attempts ended.

        Raises:
            DependencyUnavailable: the alert store failed (the next sync carries on where this one stopped).
        """
        outcomes: dict[Channel, Outcome] = {}
        for channel in sorted(alert.channels):
            claimed = self._alerts.claim(
                enterprise.id,
                alert.id,
                channel,
                now=self._clock.now(),
                lease_s=self._settings.alert_send_lease_s,
                max_attempts=self._settings.alert_max_send_attempts,
            )
            if claimed is None or claimed.channels[channel].state is not DeliveryState.SENDING:
                continue
            code: str | None = None
            try:
                outcome = self._send(channel, enterprise, claimed)
            except DependencyUnavailable as e:
                outcome, code = "retry", e.code
                if channel is Channel.WEBHOOK and self._queue_retry(enterprise.id, claimed):
                    outcome = "queued"
            except PlatformError as e:
                outcome, code = "failed", e.code
            self._alerts.settle(enterprise.id, alert.id, channel, outcome, now=self._clock.now(), code=code)
            outcomes[channel] = outcome
            log.log(
                logging.WARNING if code else logging.INFO,
                "alert delivery attempted",
                extra={
                    "enterprise_id": enterprise.id,
                    "alert_id": alert.id,
                    "channel": channel.value,
                    "outcome": outcome,
                    "error_code": code,
                    "attempt": claimed.channels[channel].attempts,
                },
            )
        return outcomes

    def _queue_retry(self, enterprise_id: str, alert: Alert) -> bool:
        """Enqueue the webhook's retry task; ``False`` (the next sync retries instead) when the queue is down.

        The task is enqueued before the channel is settled ``queued``; its delay (``webhook_retry_delay_s``) leaves
        time for that settle, and a task that still finds the channel ``sending`` answers 503 and comes back.
        """
        from shared.services.alerts.webhook_retry import webhook_task

        due = self._clock.now() + timedelta(seconds=self._settings.webhook_retry_delay_s)
        task = webhook_task(enterprise_id, alert.id, alert.channels[Channel.WEBHOOK].attempts, due)
        try:
            result = self._tasks.enqueue(self._settings.webhook_queue, [task])
        except DependencyUnavailable:
            log.warning("webhook retry not enqueued", extra={"enterprise_id": enterprise_id, "alert_id": alert.id})
            return False
        return not result.failed

    def _send(self, channel: Channel, enterprise: Enterprise, alert: Alert) -> Outcome:
        if channel is Channel.EMAIL:
            recipients = alert_recipients(enterprise)
            if not recipients:
                return "skipped"
            self._mailer.send(
                alert_email(
                    alert,
                    enterprise_name=enterprise.name,
                    recipients=recipients,
                    settings_url=self._settings.site_settings_url,
                    mail_from=self._settings.mail_from,
                )
            )
            return "sent"
        return self.send_webhook(enterprise, alert)

    def send_webhook(self, enterprise: Enterprise, alert: Alert) -> Outcome:
        """One signed POST of ``alert`` to the enterprise's webhook (``skipped`` when it has none any more).

        Raises:
            DependencyUnavailable: a transient failure (worth another attempt).
            PlatformError: the receiver refused the alert, or its address is one we never call.
        """
        target = self._alert_settings.webhook(enterprise.id)
        if target is None:
            return "skipped"
        body = webhook_body(
            alert,
            enterprise_id=enterprise.id,
            enterprise_name=enterprise.name,
            settings_url=self._settings.site_settings_url,
        )
        timestamp = int(self._clock.now().timestamp())
        self._webhooks.post(target.url, body, signed_headers(target.secret, alert.id, timestamp, body))
        return "sent"
