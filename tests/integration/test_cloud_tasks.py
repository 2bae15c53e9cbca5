"""``CloudTasksQueue`` on the Cloud Tasks emulator, which really POSTs each task to a loopback target.

The emulator (started once for this module) delivers to ``TargetServer``, a small HTTP server standing in for the
internal functions. The cases a user relies on: the body, content type and invoker token arrive; a task whose
handler answers 503 is redelivered until it succeeds; a 500-task fan-out completes. Behaviour the emulator cannot
show (``ALREADY_EXISTS``, transient gRPC errors, production OIDC tokens) is tested against an in-process backend
with Cloud Tasks' rules (``tests.support.cloud_tasks_server``).
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devstack.tasks_emulator import RunningTasksEmulator, start_tasks_emulator
from shared.adapters.cloud_tasks import CloudTasksQueue
from shared.config import Settings
from shared.errors import DependencyUnavailable
from shared.ports import TaskSpec
from tests.support.cloud_tasks_server import strict_tasks_server

logger = logging.getLogger(__name__)

PROJECT = "demo-test"
REGION = "europe-west1"
SYNC_QUEUE = "usage-sync"
BULK_QUEUE = "bulk"
LOG_PATH = Path(__file__).resolve().parents[2] / ".local" / "test-logs" / "tasks-emulator.log"
FAILURES_BEFORE_SUCCESS = 2
"""``flaky_worker`` answers 503 this many times per task before it answers 200."""


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    received_at: datetime

    @property
    def task_id(self) -> str:
        return self.headers["x-cloudtasks-taskname"]


class TargetServer:
    """Records every POST; ``/flaky_worker`` fails each task's first deliveries with 503."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = target._status_for(self.path, headers.get("x-cloudtasks-taskname", ""))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with target._changed:
                    target.deliveries.append(Delivery(self.path, headers, body, status, datetime.now(UTC)))
                    target._changed.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads deliveries, not access logs

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _status_for(self, path: str, task_id: str) -> int:
        if path != "/flaky_worker":
            return 200
        with self._changed:
            earlier = sum(1 for d in self.deliveries if d.task_id == task_id)
        return 503 if earlier < FAILURES_BEFORE_SUCCESS else 200

    def wait_for(self, done: Callable[[list[Delivery]], bool], timeout_s: float = 10.0) -> list[Delivery]:
        """Wait until ``done(deliveries)``; returns a snapshot of the deliveries."""
        with self._changed:
            if not self._changed.wait_for(lambda: done(self.deliveries), timeout=timeout_s):
                pytest.fail(f"deliveries did not arrive within {timeout_s}s (have {len(self.deliveries)})")
            return list(self.deliveries)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def target() -> Iterator[TargetServer]:
    server = TargetServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningTasksEmulator]:
    with start_tasks_emulator(
        project=PROJECT, region=REGION, queues=[SYNC_QUEUE, BULK_QUEUE], log_path=LOG_PATH, max_retries=5
    ) as running:
        yield running


@pytest.fixture
def settings(emulator: RunningTasksEmulator, target: TargetServer) -> Settings:
    # Local mode comes from the hermetic environment (tests/conftest.py), as on the local stack.
    return Settings(
        project_id=PROJECT,
        region=REGION,
        cloud_tasks_emulator_host=emulator.address,
        function_base_url=target.base_url,
    )


@pytest.fixture
def queue(settings: Settings) -> Iterator[CloudTasksQueue]:
    adapter = CloudTasksQueue(settings)
    yield adapter
    adapter.close()


def _claims(authorization: str) -> dict[str, Any]:
    scheme, token = authorization.split(" ", 1)
    assert scheme == "Bearer"
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _for_task(prefix: str) -> Callable[[list[Delivery]], bool]:
    return lambda deliveries: any(d.task_id.startswith(prefix) for d in deliveries)


def test_a_task_arrives_as_a_json_post_with_the_invoker_token(
    queue: CloudTasksQueue, settings: Settings, target: TargetServer
) -> None:
    payload = {"enterprise_id": "ent-a", "window": {"start": "2026-11-20", "end": "2026-11-23"}}

    result = queue.enqueue(
        SYNC_QUEUE, [TaskSpec(name="sync-ent-a-2026-11-23", function="sync_worker", payload=payload)]
    )

    assert (result.created, tuple(result.failed)) == (1, ())
    delivery = next(d for d in target.wait_for(_for_task("sync-ent-a-2026")) if d.task_id == "sync-ent-a-2026-11-23")
    assert delivery.path == "/sync_worker"
    assert delivery.headers["content-type"] == "application/json"
    assert json.loads(delivery.body) == payload
    claims = _claims(delivery.headers["authorization"])
    assert claims["aud"] == f"{target.base_url}/sync_worker"
    assert claims["email"] == settings.tasks_service_account
    assert claims["iss"] == "https://accounts.google.com"
    assert claims["exp"] > time.time()


def test_a_name_with_disallowed_characters_still_makes_one_delivered_task(
    queue: CloudTasksQueue, target: TargetServer
) -> None:
    result = queue.enqueue(SYNC_QUEUE, [TaskSpec(name="sync/ent:b@2026-11-23", function="sync_worker", payload={})])

    assert result.created == 1
    delivered = target.wait_for(_for_task("sync_ent_b_2026-11-23-"))
    assert sum(1 for d in delivered if d.task_id.startswith("sync_ent_b_2026-11-23-")) == 1


def test_a_scheduled_task_is_not_delivered_before_its_time(queue: CloudTasksQueue, target: TargetServer) -> None:
    due = datetime.now(UTC) + timedelta(seconds=1)

    queue.enqueue(SYNC_QUEUE, [TaskSpec(name="report-ent-c", function="report_worker", payload={}, schedule_time=due)])

    delivered = target.wait_for(_for_task("report-ent-c"))
    assert next(d for d in delivered if d.task_id == "report-ent-c").received_at >= due


def test_a_task_answered_with_503_is_redelivered_until_it_succeeds(
    queue: CloudTasksQueue, target: TargetServer
) -> None:
    queue.enqueue(SYNC_QUEUE, [TaskSpec(name="flaky-ent-d", function="flaky_worker", payload={"n": 1})])

    delivered = target.wait_for(lambda ds: any(d.task_id == "flaky-ent-d" and d.status == 200 for d in ds))
    attempts = [d for d in delivered if d.task_id == "flaky-ent-d"]
    assert [d.status for d in attempts] == [503] * FAILURES_BEFORE_SUCCESS + [200]
    assert [d.headers["x-cloudtasks-taskretrycount"] for d in attempts] == ["0", "1", "2"]
    assert all(json.loads(d.body) == {"n": 1} for d in attempts)


def test_a_fan_out_of_500_tasks_is_created_and_delivered(
    queue: CloudTasksQueue,
    target: TargetServer,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> None:
    specs = [TaskSpec(name=f"bulk-ent-{i:04d}", function="sync_worker", payload={"i": i}) for i in range(500)]

    started = time.monotonic()
    result = queue.enqueue(BULK_QUEUE, specs)
    elapsed = time.monotonic() - started

    assert (result.created, result.already_existed, tuple(result.failed)) == (500, 0, ())
    rate = 500 / elapsed
    logger.info("enqueued 500 tasks on the emulator in %.2fs (%.0f tasks/s)", elapsed, rate)
    record_property("enqueue_tasks_per_s", round(rate))
    with capsys.disabled():
        sys.stderr.write(f"\n[cloud tasks] 500 tasks enqueued in {elapsed:.2f}s: {rate:.0f} tasks/s\n")
    delivered = target.wait_for(
        lambda ds: len({d.task_id for d in ds if d.task_id.startswith("bulk-ent-")}) == 500, timeout_s=30
    )
    assert {d.task_id for d in delivered if d.task_id.startswith("bulk-ent-")} == {s.name for s in specs}


def test_duplicate_names_on_the_emulator(queue: CloudTasksQueue, target: TargetServer) -> None:
    spec = TaskSpec(name="dup-ent-e", function="sync_worker", payload={})

    in_one_call = queue.enqueue(SYNC_QUEUE, [spec, spec])
    again = queue.enqueue(SYNC_QUEUE, [spec])

    # Within one call the adapter sends a name once, whatever the backend.
    assert (in_one_call.created, in_one_call.already_existed) == (1, 1)
    # Across calls the adapter reports what the backend says. Cloud Tasks answers ALREADY_EXISTS (see
    # test_task_queue_contract.py); the emulator does not check names, so it creates and delivers the task again.
    # This is why handlers must be idempotent rather than rely on task names.
    assert (again.created, again.already_existed) == (1, 0)
    target.wait_for(lambda ds: sum(1 for d in ds if d.task_id == "dup-ent-e") == 2)


def test_a_missing_queue_raises_dependency_unavailable(queue: CloudTasksQueue) -> None:
    with pytest.raises(DependencyUnavailable):
        queue.enqueue("no-such-queue", [TaskSpec(name="lost-ent-f", function="sync_worker", payload={})])


# --- Behaviour the emulator cannot show: a backend with Cloud Tasks' rules ------------------------------------


def test_transient_errors_are_retried_and_the_task_is_created_once() -> None:
    with strict_tasks_server() as (address, backend):
        adapter = CloudTasksQueue(Settings(cloud_tasks_emulator_host=address), sleep=lambda _s: None)
        adapter.ensure_queue(SYNC_QUEUE)
        backend.unavailable_next = 2

        result = adapter.enqueue(SYNC_QUEUE, [TaskSpec(name="sync-ent-g", function="sync_worker", payload={})])
        adapter.close()

    assert (result.created, tuple(result.failed)) == (1, ())
    assert backend.create_task_calls == 3
    assert list(backend.tasks) == [f"projects/demo-test/locations/{REGION}/queues/{SYNC_QUEUE}/tasks/sync-ent-g"]


def test_a_dead_backend_fails_the_fan_out_without_retrying_every_task() -> None:
    with strict_tasks_server() as (address, backend):
        adapter = CloudTasksQueue(Settings(cloud_tasks_emulator_host=address), max_workers=4, sleep=lambda _s: None)
        backend.unavailable_always = True
        specs = [TaskSpec(name=f"sync-ent-{i}", function="sync_worker", payload={}) for i in range(200)]

        with pytest.raises(DependencyUnavailable):
            adapter.enqueue(SYNC_QUEUE, specs)
        adapter.close()

    # Three attempts for every task would be 600 calls; once one task has given up, the rest are not tried.
    assert backend.create_task_calls < 3 * 4 + 4


def test_in_production_cloud_tasks_mints_the_oidc_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    with strict_tasks_server() as (address, backend):
        settings = Settings(cloud_tasks_emulator_host=address, function_base_url="https://fn.example.test/")
        assert not settings.local_mode
        adapter = CloudTasksQueue(settings)
        adapter.ensure_queue(SYNC_QUEUE)

        adapter.enqueue(SYNC_QUEUE, [TaskSpec(name="sync-ent-h", function="sync_worker", payload={"a": 1})])
        adapter.close()

    (task,) = backend.tasks.values()
    assert task.http_request.url == "https://fn.example.test/sync_worker"
    assert task.http_request.oidc_token.service_account_email == settings.tasks_service_account
    assert task.http_request.oidc_token.audience == "https://fn.example.test/sync_worker"
    assert "Authorization" not in task.http_request.headers
    assert json.loads(task.http_request.body) == {"a": 1}


def test_tasks_are_sent_as_their_functions_own_invoker_and_only_to_task_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    invokers = {"sync_worker": "invoker-sync-worker@p.iam.gserviceaccount.com"}
    with strict_tasks_server() as (address, backend):
        settings = Settings(
            cloud_tasks_emulator_host=address, function_base_url="https://fn.example.test", task_invokers=invokers
        )
        adapter = CloudTasksQueue(settings)
        adapter.ensure_queue(SYNC_QUEUE)
        adapter.enqueue(SYNC_QUEUE, [TaskSpec(name="sync-ent-i", function="sync_worker", payload={"a": 1})])
        with pytest.raises(ValueError, match="not a task-triggered function"):
            adapter.enqueue(SYNC_QUEUE, [TaskSpec(name="api-ent-i", function="api", payload={"a": 1})])
        adapter.close()

    (task,) = backend.tasks.values()
    assert task.http_request.oidc_token.service_account_email == invokers["sync_worker"]
