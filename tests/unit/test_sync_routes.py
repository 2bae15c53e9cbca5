"""The sync functions' HTTP contract with Cloud Scheduler and Cloud Tasks: who may call, and what each status means.

Cloud Tasks retries every non-2xx answer, so: 2xx = done or acknowledged (a refused key is recorded, retrying cannot
help), 503 = retry later (with what was stored said in the body), 401/403 = not the invoker.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from devstack.tokens import mint_oidc_token
from shared.bootstrap import build_web_app
from shared.config import get_settings
from shared.domain.enterprise.model import ProviderName
from shared.domain.peers.market_index import index_for_day
from shared.domain.usage.records import Provider
from shared.errors import ProviderUnavailable
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.support.connect_world import ENTERPRISE_ID
from tests.support.fake_indices import FakeIndexStore
from tests.support.fake_sync import FakeSyncTargets
from tests.support.sync_world import SyncWorld
from tests.support.usage_days import anthropic_day, openai_day

PAYLOAD = {"enterprise_id": ENTERPRISE_ID, "start": "2026-11-20", "end": "2026-11-23", "reason": "daily"}


def worker(world: SyncWorld) -> WebApp:
    return build_web_app(
        "sync_worker",
        enterprises=world.enterprises,
        provider_connections=world.connections,
        secrets=world.secrets,
        usage_source_factory=world.sources,
        snapshots=world.snapshots,
        leases=world.leases,
        coverage=world.coverage,
        audit_log=world.audit,
        mailer=world.mailer,
        tasks=world.tasks,
        clock=world.clock,
        alert_settings=world.alert_settings,
        alerts=world.alerts,
        webhooks=world.webhooks,
    )


def post(app: WebApp, function: str, body: Any, *, caller: str | None = None, **headers: str) -> ApiResponse:
    settings = get_settings()
    email = caller or settings.tasks_service_account
    token = mint_oidc_token(email, f"{settings.function_base_url}/{function}")
    hdrs = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers}
    return app.handle(ApiRequest("POST", "/", Headers(hdrs), body=json.dumps(body).encode()))


def world_with_data() -> SyncWorld:
    world = SyncWorld()
    for day in (date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)):
        world.sources.serve(openai_day(day))
        world.sources.serve(anthropic_day(day))
    return world


def test_a_synced_enterprise_is_acknowledged_with_what_was_written() -> None:
    world = world_with_data()
    response = post(worker(world), "sync_worker", PAYLOAD, **{"X-CloudTasks-TaskName": "t-1"})
    assert response.status == 200
    body = json.loads(response.body)
    assert (body["days_written"], body["months_written"], body["retry"]) == (3, 1, False)
    # The key reads are audited under the task's name, so a retry of the task rewrites the same entries.
    assert sorted(e.id for e in world.audit.of(ENTERPRISE_ID)) == [
        "key_read-anthropic-v1-t-1",
        "key_read-openai-v1-t-1",
    ]


def test_a_transient_provider_failure_answers_503_after_storing_the_rest() -> None:
    world = world_with_data()
    world.sources.errors[Provider.ANTHROPIC] = ProviderUnavailable("anthropic returned 529", provider="anthropic")
    response = post(worker(world), "sync_worker", PAYLOAD)
    assert response.status == 503
    assert response.headers["Retry-After"]
    body = json.loads(response.body)
    assert body["code"] == "provider_unavailable"
    assert body["sync"]["providers"]["openai"]["outcome"] == "synced"
    assert body["sync"]["days_written"] == 3


def test_a_refused_key_is_acknowledged() -> None:
    world = world_with_data()
    world.sources.keys[Provider.OPENAI] = set()
    response = post(worker(world), "sync_worker", PAYLOAD)
    assert response.status == 200
    assert json.loads(response.body)["providers"]["openai"]["outcome"] == "key_failed"


def test_only_the_tasks_invoker_may_call_the_worker_and_bodies_are_strict() -> None:
    world = world_with_data()
    app = worker(world)
    settings = get_settings()
    assert post(app, "sync_worker", PAYLOAD, caller=settings.scheduler_service_account).status in (401, 403)
    assert post(app, "sync_worker", {**PAYLOAD, "end": "2026-11-01"}).status == 400
    assert world.sources.pulls == []


def test_the_dispatcher_answers_with_its_fan_out() -> None:
    world = world_with_data()
    indices = FakeIndexStore(world.clock)
    app = build_web_app(
        "sync_dispatch",
        sync_targets=FakeSyncTargets(world.enterprises),
        tasks=world.tasks,
        clock=world.clock,
        indices=indices,
    )
    settings = get_settings()
    response = post(app, "sync_dispatch", {"frequency": "daily"}, caller=settings.scheduler_service_account)
    assert response.status == 200
    body = json.loads(response.body)
    assert (body["enterprises"], body["tasks_created"], body["window"]) == (
        1,
        1,
        {"start": "2026-11-20", "end": "2026-11-23"},
    )
    # The market index is stored for every day the sync covers, today included, as computed from list prices.
    assert body["index_days_published"] == 4
    for day in (date(2026, 11, 20), date(2026, 11, 23)):
        assert indices.get(day) == index_for_day(day)
    again = post(app, "sync_dispatch", {"frequency": "daily"}, caller=settings.scheduler_service_account)
    assert json.loads(again.body)["tasks_created"] == 0
    assert indices.get(date(2026, 11, 23)) == index_for_day(date(2026, 11, 23))
    assert post(app, "sync_dispatch", {"frequency": "daily"}).status in (401, 403)  # the tasks invoker may not
    assert post(app, "sync_dispatch", {"frequency": "weekly"}, caller=settings.scheduler_service_account).status == 400


def test_on_the_queues_last_attempt_a_transient_failure_is_recorded_missing_and_acknowledged() -> None:
    """Cloud Tasks sends ``X-CloudTasks-TaskRetryCount`` (0 on the first attempt); the queue's ``max_attempts`` is
    the sync queue's ``Settings.task_max_attempts`` (8, as in Terraform)."""
    world = world_with_data()
    world.sources.errors[Provider.ANTHROPIC] = ProviderUnavailable("anthropic returned 529", provider="anthropic")
    app = worker(world)
    assert post(app, "sync_worker", PAYLOAD, **{"X-CloudTasks-TaskRetryCount": "6"}).status == 503
    last = post(app, "sync_worker", PAYLOAD, **{"X-CloudTasks-TaskRetryCount": "7"})
    assert last.status == 200
    assert json.loads(last.body)["providers"]["anthropic"]["outcome"] == "missing"
    assert world.coverage.records[(ENTERPRISE_ID, ProviderName.ANTHROPIC)].missing
