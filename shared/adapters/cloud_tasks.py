"""``TaskQueue`` on Google Cloud Tasks: named HTTP tasks for internal functions.

Each ``TaskSpec`` becomes one HTTP POST task to ``{function_base_url}/{function}`` with a JSON body. Tasks are
named from their domain key, so enqueuing the same work twice is refused by Cloud Tasks (``AlreadyExists``) and
counted as ``already_existed``. Handlers stay idempotent anyway: the emulator used locally accepts duplicate names,
and Cloud Tasks itself may deliver a task more than once.

Calls are authenticated with an OIDC token minted by Cloud Tasks for the target function's own invoker
(``Settings.task_invoker``). In local mode the
emulator cannot mint tokens, so the adapter adds an unsigned emulator-style token as the ``Authorization`` header.

A fan-out creates its tasks concurrently on a bounded thread pool (the gRPC client is thread-safe). A failed task
does not abort the others: its name is reported in ``EnqueueResult.failed``. Transient gRPC errors are retried a few
times with jittered exponential backoff; once one task has exhausted its retries the backend is taken to be down and
the tasks not yet started fail at once, so a dead backend fails the fan-out in about a second, not minutes.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import grpc
from google.api_core import exceptions as gexc
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from shared.errors import DependencyUnavailable
from shared.ports import EnqueueResult, TaskSpec

if TYPE_CHECKING:
    from shared.config import Settings
from shared.local_mode import token_minter

logger = logging.getLogger(__name__)

MAX_TASK_ID_LENGTH = 500
_DISALLOWED = re.compile(r"[^A-Za-z0-9_-]")
_HASH_CHARS = 16

# Errors worth another attempt. DeadlineExceeded is ambiguous (the task may exist): a retry then reports
# AlreadyExists, which is counted as already_existed; either way the task exists exactly once.
_TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.ResourceExhausted,
    gexc.Aborted,
)


def task_id_for(name: str) -> str:
    """The Cloud Tasks task id for a task name: ``[A-Za-z0-9_-]``, at most 500 characters.

    A name that is already a valid id is used as is. Otherwise disallowed characters become ``_`` and a short hash
    of the original name is appended, so distinct names (``a/b`` and ``a:b``) keep distinct ids.
    """
    cleaned = _DISALLOWED.sub("_", name)
    if cleaned == name and 0 < len(name) <= MAX_TASK_ID_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_CHARS]
    return f"{cleaned[: MAX_TASK_ID_LENGTH - _HASH_CHARS - 1]}-{digest}"


class _Outcome(enum.Enum):
    CREATED = "created"
    EXISTED = "existed"
    FAILED = "failed"


def _tally(tasks: Sequence[TaskSpec], outcomes: dict[str, _Outcome]) -> EnqueueResult:
    """Count outcomes per spec: a repeat of a name within one call is ``already_existed`` unless it failed."""
    created = existed = 0
    failed: list[str] = []
    seen: set[str] = set()
    for spec in tasks:
        task_id = task_id_for(spec.name)
        outcome = outcomes[task_id]
        if outcome is _Outcome.FAILED:
            if task_id not in seen:
                failed.append(spec.name)
        elif outcome is _Outcome.CREATED and task_id not in seen:
            created += 1
        else:
            existed += 1
        seen.add(task_id)
    return EnqueueResult(created=created, already_existed=existed, failed=tuple(failed))


class CloudTasksQueue:
    """Enqueues HTTP tasks on Cloud Tasks (or its local emulator when ``cloud_tasks_emulator_host`` is set).

    Args:
        settings: Project, region, target base URL, invoker service account, emulator host and local mode.
        max_workers: Upper bound on concurrent ``CreateTask`` calls in one fan-out.
        max_attempts: Attempts per task on a transient error (the first call included).
        backoff_base_s: First backoff; doubles per attempt, with full jitter.
        rpc_timeout_s: Deadline of one ``CreateTask`` call.
        sleep: Injected so tests of the retry path need not wait.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        max_workers: int = 32,
        max_attempts: int = 3,
        backoff_base_s: float = 0.2,
        rpc_timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_workers < 1 or max_attempts < 1:
            raise ValueError("max_workers and max_attempts must be at least 1")
        self._settings = settings
        self._max_workers = max_workers
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._rpc_timeout_s = rpc_timeout_s
        self._sleep = sleep
        self._client_lock = threading.Lock()
        self._client: tasks_v2.CloudTasksClient | None = None

    def queue_path(self, queue: str) -> str:
        """Full resource name of a queue in the configured project and region."""
        return tasks_v2.CloudTasksClient.queue_path(self._settings.project_id, self._settings.region, queue)

    def enqueue(self, queue: str, tasks: Sequence[TaskSpec]) -> EnqueueResult:
        """Create one named HTTP task per spec; an existing name counts as ``already_existed``.

        Duplicate names within one call are sent once. Tasks that could not be created are listed by name in
        ``failed``; the caller decides whether to retry them (re-enqueuing is safe, tasks are named).

        Raises:
            DependencyUnavailable: Not a single task was accepted (backend down, queue missing, access denied).
        """
        if not tasks:
            return EnqueueResult()
        parent = self.queue_path(queue)
        by_id: dict[str, TaskSpec] = {}
        for spec in tasks:
            by_id.setdefault(task_id_for(spec.name), spec)
        built = [self._build_task(parent, task_id, spec) for task_id, spec in by_id.items()]
        client = self._get_client()
        backend_down = threading.Event()
        errors: list[gexc.GoogleAPIError] = []
        with ThreadPoolExecutor(max_workers=min(self._max_workers, len(built))) as pool:
            outcomes = dict(
                zip(
                    by_id,
                    pool.map(lambda task: self._create(client, parent, task, backend_down, errors), built),
                    strict=True,
                )
            )
        result = _tally(tasks, outcomes)
        failed = result.failed
        logger.info(
            "enqueued %d tasks on %s: %d created, %d already existed, %d failed",
            len(tasks),
            queue,
            result.created,
            result.already_existed,
            len(failed),
            extra={
                "queue": queue,
                "tasks_created": result.created,
                "tasks_existed": result.already_existed,
                "tasks_failed": len(failed),
            },
        )
        if failed and result.created == 0 and result.already_existed == 0:
            cause = errors[-1] if errors else None
            code = type(cause).__name__ if cause else "unknown"
            raise DependencyUnavailable(
                f"Cloud Tasks accepted none of {len(tasks)} tasks on queue {queue} ({code})"
            ) from cause
        return result

    def ensure_queue(self, queue: str) -> str:
        """Create the queue if it does not exist; returns its resource name.

        For the local stack and tests only: deployed queues are managed by Terraform and the runtime service
        accounts may not create queues.
        """
        path = self.queue_path(queue)
        parent = path.rsplit("/queues/", 1)[0]
        try:
            self._get_client().create_queue(parent=parent, queue=tasks_v2.Queue(name=path), timeout=self._rpc_timeout_s)
        except gexc.AlreadyExists:
            pass
        except gexc.GoogleAPIError as e:
            raise DependencyUnavailable(f"could not create Cloud Tasks queue {queue}") from e
        return path

    def close(self) -> None:
        """Close the gRPC channel (the local stack and tests; a function instance keeps its client)."""
        with self._client_lock:
            if self._client is not None:
                self._client.transport.close()
                self._client = None

    def _get_client(self) -> tasks_v2.CloudTasksClient:
        with self._client_lock:
            if self._client is None:
                host = self._settings.cloud_tasks_emulator_host
                if host:
                    channel = grpc.insecure_channel(host)
                    self._client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
                else:
                    self._client = tasks_v2.CloudTasksClient()
            return self._client

    def _build_task(self, parent: str, task_id: str, spec: TaskSpec) -> tasks_v2.Task:
        if self._settings.task_invokers and spec.function not in self._settings.task_invokers:
            # Task targets are the configured task functions only, whatever a caller put in a TaskSpec.
            raise ValueError(f"{spec.function!r} is not a task-triggered function")
        url = f"{self._settings.function_base_url.rstrip('/')}/{spec.function}"
        invoker = self._settings.task_invoker(spec.function)
        audience = self._settings.internal_audience or url
        headers = {"Content-Type": "application/json"}
        request = tasks_v2.HttpRequest(
            http_method=tasks_v2.HttpMethod.POST,
            url=url,
            headers=headers,
            body=json.dumps(spec.payload, separators=(",", ":"), sort_keys=True).encode(),
        )
        if self._settings.local_mode:
            # The emulator cannot mint OIDC tokens: send the same claims unsigned, which only local mode accepts
            # (the local stack's minter, ``shared.local_mode``).
            delay_s = max(0, int(spec.schedule_time.timestamp() - time.time())) if spec.schedule_time else 0
            token = token_minter().oidc_token(invoker, audience=audience, lifetime_s=3600 + delay_s)
            request.headers["Authorization"] = f"Bearer {token}"
        else:
            request.oidc_token = tasks_v2.OidcToken(service_account_email=invoker, audience=audience)
        task = tasks_v2.Task(name=f"{parent}/tasks/{task_id}", http_request=request)
        if spec.schedule_time is not None:
            task.schedule_time = spec.schedule_time
        return task

    def _create(
        self,
        client: tasks_v2.CloudTasksClient,
        parent: str,
        task: tasks_v2.Task,
        backend_down: threading.Event,
        errors: list[gexc.GoogleAPIError],
    ) -> _Outcome:
        for attempt in range(1, self._max_attempts + 1):
            if backend_down.is_set():
                return _Outcome.FAILED
            try:
                client.create_task(parent=parent, task=task, timeout=self._rpc_timeout_s)
            except gexc.AlreadyExists:
                return _Outcome.EXISTED
            except _TRANSIENT as e:
                if attempt == self._max_attempts:
                    backend_down.set()
                    return self._failed(task, e, errors)
                self._sleep(random.uniform(0, self._backoff_base_s * 2 ** (attempt - 1)))  # noqa: S311 - jitter
            except gexc.GoogleAPIError as e:
                return self._failed(task, e, errors)
            else:
                return _Outcome.CREATED
        raise AssertionError("unreachable: the last attempt returns")

    @staticmethod
    def _failed(task: tasks_v2.Task, error: gexc.GoogleAPIError, errors: list[gexc.GoogleAPIError]) -> _Outcome:
        errors.append(error)  # list.append is atomic; only the last error is read, after the pool has finished
        logger.warning(
            "could not create task %s: %s",
            task.name.rsplit("/", 1)[1],
            type(error).__name__,
            extra={"task": task.name, "grpc_error": type(error).__name__},
        )
        return _Outcome.FAILED
