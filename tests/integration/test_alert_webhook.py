"""Alert delivery against real receivers: an HTTP server on loopback for the webhook, the SMTP sink for email.

An admin configures a budget and a webhook through the ``api`` application (Firestore emulator); the sync worker's
alert use case, wired from the same ``Deps`` as in production, then finds the crossing and delivers it. The receiver
checks the HMAC with the secret the PUT returned, as a customer's endpoint would, and answers 500 before it accepts:
the retry is the ``webhook_deliver`` task the sync enqueued (the task queue is our fake of the port; the Cloud Tasks
adapter has its own tests), delivered through the ``webhook_deliver`` application.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from devstack.smtp_sink import RunningSink, start_smtp_sink
from devstack.tokens import mint_oidc_token, mint_user_token, uid_for_email
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_snapshots import FirestoreSnapshots
from shared.api.sync_routes import alert_use_case
from shared.bootstrap import SystemClock, build_web_app
from shared.config import Settings, get_settings
from shared.deps import Deps
from shared.domain.alerts.records import Channel, DeliveryState
from shared.domain.alerts.webhook_signature import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from shared.domain.enterprise.model import Enterprise, Member, ProviderName, Role
from shared.domain.usage.records import Provider, ProviderPull
from shared.ports import TaskSpec
from shared.services.sync.store_snapshots import store_pulls
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.usage_days import line, provider_day

EID = "ent_webhook_it"
ADMIN = "ada@acme.example"


@dataclass
class Receiver:
    """A customer's webhook endpoint: answers the queued statuses in turn (then 200), keeps what it received."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k: v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/usage"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[RunningSink]:
    with start_smtp_sink(folder=tmp_path / "mail") as running:
        yield running


def _settings(sink: RunningSink) -> Settings:
    return get_settings().model_copy(update={"smtp_host": sink.host, "smtp_port": sink.port})


def _seed(db: Any) -> None:
    """An enterprise whose current month has $120 of OpenAI spend."""
    now = datetime.now(UTC)
    FirestoreEnterprises(db).create(
        Enterprise(
            id=EID,
            name="Acme Corp",
            created_at=now,
            updated_at=now,
            created_by=uid_for_email(ADMIN),
            members={uid_for_email(ADMIN): Member(email=ADMIN, role=Role.ADMIN, added_at=now)},
            member_uids=[uid_for_email(ADMIN)],
        )
    )
    today = now.date()
    first = max(today.replace(day=1), today - timedelta(days=2))
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    p = Provider.OPENAI
    pull = ProviderPull(
        provider=p,
        start=days[0],
        end_exclusive=today + timedelta(days=1),
        days={d: provider_day(p, d, [], [line(p, d, str(Decimal(120) / len(days)), model="gpt-4o")]) for d in days},
        price_data_version="test",
    )
    store_pulls(FirestoreSnapshots(db), EID, {ProviderName.OPENAI: pull}, days, now=now, retention_months=24)


def _put_budgets(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    app = build_web_app("api", settings=settings)
    headers = {
        "Authorization": f"Bearer {mint_user_token(ADMIN, TEST_PROJECT)}",
        "X-Enterprise-Id": EID,
        "Content-Type": "application/json",
    }
    response = app.handle(
        ApiRequest("PUT", "/api/v1/enterprise/budgets", Headers(headers), {}, json.dumps(body).encode())
    )
    assert response.status == 200, response.body
    result: dict[str, Any] = json.loads(response.body)
    return result


def _evaluate(db: Any, settings: Settings, tasks: FakeTaskQueue) -> None:
    deps = Deps(settings, SystemClock(), firestore=db, tasks=tasks)
    enterprise = deps.enterprises.get(EID)
    assert enterprise is not None
    alert_use_case(deps).evaluate(enterprise)


def _deliver(settings: Settings, task: TaskSpec, *, retry_count: int) -> ApiResponse:
    """One Cloud Tasks delivery of ``task`` to the ``webhook_deliver`` function, with its invoker's OIDC token."""
    token = mint_oidc_token(settings.tasks_service_account, f"{settings.function_base_url}/webhook_deliver")
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "X-CloudTasks-QueueName": settings.webhook_queue,
        "X-CloudTasks-TaskRetryCount": str(retry_count),
    }
    app = build_web_app("webhook_deliver", settings=settings)
    return app.handle(ApiRequest("POST", "/", Headers(headers), body=json.dumps(dict(task.payload)).encode()))


def test_the_webhook_gets_the_signed_alert_from_its_retry_task_after_a_500_and_never_again(
    firestore_db: Any, receiver: Receiver, sink: RunningSink, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(sink)
    _seed(firestore_db)
    saved = _put_budgets(
        settings, {"budgets": [{"monthly_usd": "100"}], "anomaly_alerts": False, "webhook_url": receiver.url}
    )
    secret = SecretStr(saved["signing_secret"])
    receiver.statuses = [500]
    tasks = FakeTaskQueue()

    _evaluate(firestore_db, settings, tasks)
    assert len(receiver.received) == 1, "refused with a 500: no retry inside the sync"
    _evaluate(firestore_db, settings, tasks)
    assert len(receiver.received) == 1, "the next sync leaves the retry to the task"
    [task] = tasks.tasks(settings.webhook_queue)
    assert task.function == "webhook_deliver"

    answer = _deliver(settings, task, retry_count=0)
    assert (answer.status, json.loads(answer.body)) == (200, {"outcome": "sent"})
    assert len(receiver.received) == 2, "accepted when the task tried again"
    headers, body = receiver.received[-1]
    assert verify_signature(
        secret,
        body,
        timestamp=headers[TIMESTAMP_HEADER],
        signature_header=headers[SIGNATURE_HEADER],
        now=int(datetime.now(UTC).timestamp()),
    )
    assert not verify_signature(
        SecretStr("whsec_not-the-secret-00000000000"),
        body,
        timestamp=headers[TIMESTAMP_HEADER],
        signature_header=headers[SIGNATURE_HEADER],
        now=int(datetime.now(UTC).timestamp()),
    )
    document = json.loads(body)
    assert document["kind"] == "budget_critical"
    assert document["id"] == headers[ID_HEADER]
    assert Decimal(document["figures"]["spend_usd"]) == Decimal(120)
    assert document["figures"]["budget_usd"] == "100"
    assert document["period"] == datetime.now(UTC).strftime("%Y-%m")
    [email] = sink.wait_for(1)
    assert "Acme Corp" in email["Subject"]
    assert "USD 120.00 of USD 100.00" in email["Subject"]
    assert saved["signing_secret"] not in email.as_string()
    assert saved["signing_secret"] not in body.decode()

    assert not any("/hooks/usage" in r.getMessage() for r in caplog.records), "a webhook's path may hold a token"

    _evaluate(firestore_db, settings, tasks)  # a later sync: nothing new, nothing resent
    duplicate = _deliver(settings, task, retry_count=1)  # Cloud Tasks delivers at least once
    assert (duplicate.status, json.loads(duplicate.body)) == (200, {"outcome": "nothing_to_do"})
    assert len(receiver.received) == 2
    assert len(sink.messages()) == 1
    assert tasks.names(settings.webhook_queue) == [task.name]


def test_a_failing_webhook_is_retried_by_its_task_with_503_until_the_receiver_accepts(
    firestore_db: Any, receiver: Receiver, sink: RunningSink
) -> None:
    settings = _settings(sink)
    _seed(firestore_db)
    _put_budgets(settings, {"budgets": [{"monthly_usd": "100"}], "anomaly_alerts": False, "webhook_url": receiver.url})
    receiver.statuses = [503, 503]
    tasks = FakeTaskQueue()

    _evaluate(firestore_db, settings, tasks)
    assert len(receiver.received) == 1  # no retry inside the sync
    deps = Deps(settings, SystemClock(), firestore=firestore_db)
    [alert] = deps.alerts.open_alerts(EID, limit=5)
    assert alert.channels[Channel.WEBHOOK].state is DeliveryState.QUEUED
    assert alert.channels[Channel.EMAIL].state is DeliveryState.SENT
    [task] = tasks.tasks(settings.webhook_queue)

    retry = _deliver(settings, task, retry_count=0)
    assert retry.status == 503, "Cloud Tasks retries after the queue's backoff"
    assert len(receiver.received) == 2
    sent = _deliver(settings, task, retry_count=1)
    assert (sent.status, json.loads(sent.body)) == (200, {"outcome": "sent"})
    assert len(receiver.received) == 3
    assert deps.alerts.open_alerts(EID, limit=5) == []
    assert len(sink.messages()) == 1


def _stored_text(db: Any, ref: Any) -> str:
    """Every field of ``ref`` and of all the documents below it, as text: what a Firestore read could yield."""
    parts = [json.dumps(ref.get().to_dict() or {}, default=str)]
    for collection in ref.collections():
        for doc in collection.list_documents():
            parts.append(_stored_text(db, doc))
    return "\n".join(parts)


def test_a_read_of_every_enterprise_document_never_yields_the_webhook_signing_secret(
    firestore_db: Any, sink: RunningSink
) -> None:
    """The attack: whoever reads Firestore (a leaked backup or export, a rules mistake, an over-broad datastore role)
    must not learn the secret that lets them forge signed alerts. The secret is derived in memory from a key held in
    Secret Manager (``WEBHOOK_SIGNING_KEY``), so no document holds it, and the sender still signs with it."""
    settings = _settings(sink)
    _seed(firestore_db)
    saved = _put_budgets(
        settings,
        {"budgets": [{"monthly_usd": "100"}], "anomaly_alerts": False, "webhook_url": "https://hooks.example.com/x"},
    )
    secret = saved["signing_secret"]
    stored = _stored_text(firestore_db, firestore_db.collection("enterprises").document(EID))
    assert "hooks.example.com" in stored, "the webhook itself is stored"
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored

    target = Deps(settings, SystemClock(), firestore=firestore_db).alert_settings.webhook(EID)
    assert target is not None
    assert target.secret.get_secret_value() == secret, "the sender signs with the secret the admin was shown"
