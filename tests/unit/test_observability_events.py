"""The log records the alerting counts (``infra/terraform/modules/platform/monitoring.tf``) are emitted when, and
only when, what they stand for happens: a sync's outcome, a task given up on its queue's last attempt."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest

from devstack.tokens import mint_oidc_token
from shared.bootstrap import build_web_app
from shared.config import get_settings
from shared.domain.usage.records import Provider
from shared.errors import DependencyUnavailable, ProviderRateLimited, ProviderResponseError
from shared.web.app import WebApp
from shared.web.http import ApiRequest, Headers
from shared.web.router import Access, Router
from tests.support.connect_world import ENTERPRISE_ID
from tests.support.fakes import FakeEnterpriseStore
from tests.support.sync_world import SyncWorld
from tests.support.usage_days import anthropic_day, openai_day

DAYS = [date(2026, 11, 21), date(2026, 11, 22)]
DAILY = {"enterprise_id": ENTERPRISE_ID, "start": "2026-11-21", "end": "2026-11-23", "reason": "daily"}


def _events(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


@pytest.fixture
def world() -> SyncWorld:
    w = SyncWorld()
    for day in DAYS:
        w.sources.serve(openai_day(day))
        w.sources.serve(anthropic_day(day))
    return w


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        (ProviderResponseError("400 bad request", provider="anthropic"), "failed"),
        (ProviderRateLimited("429", provider="anthropic", retry_after_s=60), "retry"),
    ],
)
def test_every_sync_logs_its_outcome(
    world: SyncWorld, caplog: pytest.LogCaptureFixture, error: Exception | None, outcome: str
) -> None:
    if error is not None:
        world.sources.errors[Provider.ANTHROPIC] = error
    caplog.set_level(logging.INFO)
    world.run(DAILY)
    (record,) = _events(caplog, "sync_finished")
    assert (record.outcome, record.enterprise_id) == (outcome, ENTERPRISE_ID)  # type: ignore[attr-defined]


def _task_app(status: int) -> WebApp:
    router = Router("sync_worker")

    @router.route("POST", "/", access=Access.TASKS, summary="test task")
    def work(ctx: Any) -> dict[str, str]:
        if status == 503:
            raise DependencyUnavailable("provider down")
        return {}

    return build_web_app("sync_worker", router=router, enterprises=FakeEnterpriseStore())


def _deliver(app: WebApp, retries: str, *, queue: str = "usage-sync", token: bool = True) -> None:
    settings = get_settings()
    headers = {
        "X-CloudTasks-QueueName": queue,
        "X-CloudTasks-TaskName": "abc-sync-ent_1-daily-2026-11-23",
        "X-CloudTasks-TaskRetryCount": retries,
    }
    if token:
        oidc = mint_oidc_token(settings.tasks_service_account, f"{settings.function_base_url}/sync_worker")
        headers["Authorization"] = f"Bearer {oidc}"
    app.handle(ApiRequest("POST", "/", Headers(headers), {}, b"{}"))


def test_a_task_failing_on_its_queues_last_attempt_is_logged_as_given_up(caplog: pytest.LogCaptureFixture) -> None:
    app, last = _task_app(503), get_settings().task_max_attempts["usage-sync"]
    _deliver(app, str(last - 2))  # Cloud Tasks retries this one
    assert _events(caplog, "task_given_up") == []
    _deliver(app, str(last - 1))  # the last attempt: dropped after it
    (record,) = _events(caplog, "task_given_up")
    assert (record.queue, record.attempt, record.status) == ("usage-sync", last, 503)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "queue", "token"),
    [(200, "usage-sync", True), (503, "not-a-queue", True), (503, "usage-sync", False)],
    ids=["succeeded", "unknown queue", "not a Cloud Tasks caller"],
)
def test_nothing_is_given_up_when_the_last_attempt_succeeds_or_the_caller_is_not_ours(
    caplog: pytest.LogCaptureFixture, status: int, queue: str, token: bool
) -> None:
    _deliver(_task_app(status), "99", queue=queue, token=token)
    assert _events(caplog, "task_given_up") == []
