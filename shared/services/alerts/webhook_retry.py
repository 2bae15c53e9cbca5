"""Retry an alert's webhook through Cloud Tasks: the ``webhook_deliver`` task (queue ``Settings.webhook_queue``).

A sync whose webhook send failed transiently enqueues one named, delayed task (``webhook_task``) and leaves the
channel ``queued`` (``shared.services.alerts.deliver_alert``). Each delivery of that task:

1. claims the channel from ``queued`` (a transaction, ``shared.domain.alerts.records.claim``): a duplicate delivery
  after a
   success finds it ``sent`` and sends nothing;
2. sends once, under the same total deadline as the sync (``Settings.webhook_deadline_s``);
3. settles it: ``sent``; ``failed`` on a refusal, or on a transient failure on the queue's last attempt
   (``Settings.task_max_attempts``); otherwise ``queued`` again and ``retry`` (the route answers 503 and Cloud Tasks
   tries again after its exponential backoff).

A channel another delivery is sending right now (``sending``, lease not run out) is ``busy``: 503, try later. The
sync no longer claims a queued channel, so only this task retries it; a task that dies mid-send leaves the channel
``sending`` until its lease runs out, and the task's next delivery (or a later sync) takes it over.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Literal

from shared.config import Settings
from shared.domain.alerts.records import Channel, DeliveryState, Outcome
from shared.errors import DependencyUnavailable, PlatformError
from shared.ports import AlertStore, Clock, EnterpriseStore, TaskSpec
from shared.services.alerts.deliver_alert import AlertDelivery

log = logging.getLogger(__name__)

WEBHOOK_FUNCTION = "webhook_deliver"
TaskOutcome = Literal["sent", "failed", "skipped", "retry", "busy", "nothing_to_do"]


def webhook_task(enterprise_id: str, alert_id: str, attempt: int, due: datetime) -> TaskSpec:
    """The retry task of ``alert_id``'s webhook after its ``attempt``-th send, named from both: a sync that runs
    again after the same failed attempt names the same task, which Cloud Tasks refuses as a duplicate."""
    digest = hashlib.sha256(f"{enterprise_id}/{alert_id}".encode()).hexdigest()[:32]
    return TaskSpec(
        name=f"webhook-{digest}-{attempt}",
        function=WEBHOOK_FUNCTION,
        payload={"enterprise_id": enterprise_id, "alert_id": alert_id},
        schedule_time=due,
    )


class WebhookRetry:
    def __init__(
        self,
        *,
        alerts: AlertStore,
        enterprises: EnterpriseStore,
        delivery: AlertDelivery,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._alerts = alerts
        self._enterprises = enterprises
        self._delivery = delivery
        self._clock = clock
        self._settings = settings

    def run(self, enterprise_id: str, alert_id: str, *, last_attempt: bool) -> TaskOutcome:
        """One delivery of the task; ``retry`` and ``busy`` ask the queue to try again later.

        Raises:
            DependencyUnavailable: the alert store failed (the queue retries the task).
        """
        claimed = self._alerts.claim(
            enterprise_id,
            alert_id,
            Channel.WEBHOOK,
            now=self._clock.now(),
            lease_s=self._settings.alert_send_lease_s,
            max_attempts=self._settings.alert_max_send_attempts,
            from_queue=True,
        )
        if claimed is None:
            current = self._alerts.get(enterprise_id, alert_id)
            delivery = current.channels.get(Channel.WEBHOOK) if current else None
            return "busy" if delivery is not None and delivery.state is DeliveryState.SENDING else "nothing_to_do"
        webhook = claimed.channels[Channel.WEBHOOK]
        if webhook.state is not DeliveryState.SENDING:
            return "failed"  # the claim found its attempts used up and recorded it failed
        enterprise = self._enterprises.get(enterprise_id)
        code: str | None = None
        outcome: Outcome
        try:
            outcome = self._delivery.send_webhook(enterprise, claimed) if enterprise else "skipped"
        except DependencyUnavailable as e:
            outcome, code = ("failed" if last_attempt else "queued"), e.code
        except PlatformError as e:
            outcome, code = "failed", e.code
        self._alerts.settle(enterprise_id, alert_id, Channel.WEBHOOK, outcome, now=self._clock.now(), code=code)
        log.log(
            logging.WARNING if code else logging.INFO,
            "alert webhook retried",
            extra={
                "enterprise_id": enterprise_id,
                "alert_id": alert_id,
                "outcome": outcome,
                "error_code": code,
                "attempt": webhook.attempts,
                "last_attempt": last_attempt,
            },
        )
        return "retry" if outcome == "queued" else outcome
