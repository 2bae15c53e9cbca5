"""A failed webhook send is retried by a Cloud Tasks task (``webhook_deliver``), never inline and never by a sync.

The task is named from the alert and the attempt (a repeated sync names the same one), delayed, and each delivery
sends once: 200 when sent or failed for good, 503 on a transient failure so the queue backs off and retries, and
``failed`` recorded on the queue's last attempt (Cloud Tasks' ``X-CloudTasks-TaskRetryCount`` header,
https://cloud.google.com/tasks/docs/creating-http-target-tasks#handler). A duplicate delivery sends nothing twice.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from pydantic import SecretStr

from shared.bootstrap import build_web_app
from shared.domain.alerts.budgets import WebhookTarget
from shared.domain.alerts.records import (
    AlertCandidate,
    AlertFigures,
    AlertKind,
    AlertScope,
    Channel,
    Delivery,
    DeliveryState,
    new_alert,
)
from shared.domain.alerts.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from shared.errors import DependencyUnavailable, PlatformError
from shared.services.alerts.webhook_retry import webhook_task
from shared.web.app import WebApp
from shared.web.http import ApiResponse
from tests.support.connect_world import ENTERPRISE_ID
from tests.support.spend_world import days
from tests.support.sync_world import SyncWorld
from tests.unit.test_alerts_on_sync import START, _with_webhook, quiet_world
from tests.unit.test_sync_routes import post

QUEUE = "alert-webhooks"
SECRET = "whsec_unit-test-secret-2222222222222222222222"


def deliverer(world: SyncWorld) -> WebApp:
    return build_web_app(
        "webhook_deliver",
        enterprises=world.enterprises,
        alerts=world.alerts,
        alert_settings=world.alert_settings,
        webhooks=world.webhooks,
        mailer=world.mailer,
        tasks=world.tasks,
        clock=world.clock,
    )


def deliver(world: SyncWorld, payload: object, *, retry_count: int = 0) -> ApiResponse:
    headers = {"X-CloudTasks-QueueName": QUEUE, "X-CloudTasks-TaskRetryCount": str(retry_count)}
    return post(deliverer(world), "webhook_deliver", payload, **headers)


def queued_alert(world: SyncWorld, *, state: DeliveryState = DeliveryState.QUEUED) -> str:
    """A budget alert whose webhook send failed once and was handed to its task."""
    now = world.clock.now()
    world.alert_settings.webhooks[ENTERPRISE_ID] = WebhookTarget(
        url="https://hooks.example.com/usage", secret=SecretStr(SECRET), secret_created_at=now
    )
    candidate = AlertCandidate(
        kind=AlertKind.BUDGET_WARNING,
        period="2026-11",
        scope=AlertScope(),
        figures=AlertFigures(spend_usd=Decimal("2300.00"), budget_usd=Decimal("3000"), threshold_percent=75),
    )
    hook = Delivery(state=state, attempts=1, last_error="dependency_unavailable")
    alert = new_alert(candidate, channels={Channel.WEBHOOK: hook}, now=now, retention_months=24)
    world.alerts.create(ENTERPRISE_ID, alert)
    return alert.id


def webhook_state(world: SyncWorld, alert_id: str) -> Delivery:
    alert = world.alerts.get(ENTERPRISE_ID, alert_id)
    assert alert is not None
    return alert.channels[Channel.WEBHOOK]


def test_a_failed_send_becomes_a_named_delayed_task_that_sends_once_and_the_syncs_leave_it_alone() -> None:
    spend = quiet_world()
    _with_webhook(spend, SECRET)
    world = spend.world
    world.webhooks.failures.append(DependencyUnavailable("webhook down"))
    first_day = START + timedelta(days=1)
    spend.daily_syncs(days(first_day, date(2026, 11, 30)))

    warning = next(a for a in world.alerts.of(ENTERPRISE_ID) if a.kind is AlertKind.BUDGET_WARNING)
    assert warning.channels[Channel.WEBHOOK].state is DeliveryState.QUEUED
    assert warning.channels[Channel.WEBHOOK].attempts == 1, "no later sync sent it again"
    assert warning.channels[Channel.EMAIL].state is DeliveryState.SENT
    [task] = world.tasks.tasks(QUEUE)
    assert task == webhook_task(ENTERPRISE_ID, warning.id, 1, task.schedule_time or world.clock.now())
    assert task.function == "webhook_deliver"
    assert task.payload == {"enterprise_id": ENTERPRISE_ID, "alert_id": warning.id}
    assert task.schedule_time is not None
    assert task.schedule_time > warning.created_at, "delayed, not immediate"
    kinds = [json.loads(body)["kind"] for _, body, _ in world.webhooks.posts]
    assert kinds == ["budget_critical"], "only the alert whose first send worked reached the receiver so far"

    answer = deliver(world, task.payload)
    assert (answer.status, json.loads(answer.body)) == (200, {"outcome": "sent"})
    _, body, headers = world.webhooks.posts[-1]
    assert json.loads(body)["id"] == warning.id
    timestamp = headers[TIMESTAMP_HEADER]
    assert verify_signature(
        SecretStr(SECRET), body, timestamp=timestamp, signature_header=headers[SIGNATURE_HEADER], now=int(timestamp)
    )
    assert (webhook_state(world, warning.id).state, webhook_state(world, warning.id).attempts) == (
        DeliveryState.SENT,
        2,
    )

    again = deliver(world, task.payload, retry_count=1)  # Cloud Tasks delivers at least once
    assert (again.status, json.loads(again.body)) == (200, {"outcome": "nothing_to_do"})
    assert len(world.webhooks.posts) == 2


def test_a_transient_failure_answers_503_until_the_queues_last_attempt_records_it_failed() -> None:
    world = SyncWorld()
    alert_id = queued_alert(world)
    payload = {"enterprise_id": ENTERPRISE_ID, "alert_id": alert_id}

    world.webhooks.failures.append(DependencyUnavailable("webhook down"))
    retry = deliver(world, payload, retry_count=0)
    assert retry.status == 503
    assert json.loads(retry.body)["code"] == "webhook_retry"
    assert webhook_state(world, alert_id).state is DeliveryState.QUEUED

    world.webhooks.failures.append(DependencyUnavailable("webhook down"))
    last = deliver(world, payload, retry_count=7)  # the 8th attempt of the alert-webhooks queue
    assert (last.status, json.loads(last.body)) == (200, {"outcome": "failed"})
    state = webhook_state(world, alert_id)
    assert (state.state, state.attempts, state.last_error) == (DeliveryState.FAILED, 3, "dependency_unavailable")
    assert world.webhooks.posts == []


def test_a_refusal_is_final_and_an_alert_being_sent_elsewhere_is_retried_later() -> None:
    world = SyncWorld()
    refused = queued_alert(world)
    world.webhooks.failures.append(PlatformError("refused (410)", code="webhook_rejected"))
    answer = deliver(world, {"enterprise_id": ENTERPRISE_ID, "alert_id": refused})
    assert (answer.status, json.loads(answer.body)) == (200, {"outcome": "failed"})
    assert webhook_state(world, refused).last_error == "webhook_rejected"

    busy = SyncWorld()
    alert_id = queued_alert(busy)
    claimed = busy.alerts.claim(
        ENTERPRISE_ID, alert_id, Channel.WEBHOOK, now=busy.clock.now(), lease_s=600, max_attempts=10, from_queue=True
    )
    assert claimed is not None
    answer = deliver(busy, {"enterprise_id": ENTERPRISE_ID, "alert_id": alert_id})
    assert answer.status == 503
    assert json.loads(answer.body)["code"] == "webhook_busy"
    assert busy.webhooks.posts == []


def test_when_the_queue_is_down_the_next_sync_retries_instead() -> None:
    spend = quiet_world()
    _with_webhook(spend, SECRET)
    world = spend.world
    world.webhooks.failures.append(DependencyUnavailable("webhook down"))
    world.tasks.down = True
    spend.daily_syncs(days(START + timedelta(days=1), date(2026, 11, 30)))

    warning = next(a for a in world.alerts.of(ENTERPRISE_ID) if a.kind is AlertKind.BUDGET_WARNING)
    hook = warning.channels[Channel.WEBHOOK]
    assert (hook.state, hook.attempts) == (DeliveryState.SENT, 2), "left pending, sent by the next sync"
    assert world.tasks.tasks(QUEUE) == []
