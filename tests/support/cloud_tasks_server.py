"""An in-process gRPC Cloud Tasks backend with the real service's task-name rule, for adapter tests.

The community emulator accepts a task name twice and never fails a ``CreateTask`` call, so it cannot show what the
adapter does when Cloud Tasks answers ``ALREADY_EXISTS`` or ``UNAVAILABLE``. This server answers ``CreateQueue``
and ``CreateTask`` like Cloud Tasks does (a queue must exist, a task name is taken once) and records every task it
accepted. It can be told to answer ``UNAVAILABLE`` to the next N calls or to all of them, or to reject given task
ids. Nothing is dispatched.

Requests and responses go through the client library's own proto-plus types, so the wire format is Google's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
from google.cloud import tasks_v2

SERVICE = "google.cloud.tasks.v2.CloudTasks"


class StrictTasksBackend:
    """The state and fault switches of the server; tests read ``tasks`` and set ``unavailable_*``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.queues: set[str] = set()
        self.tasks: dict[str, tasks_v2.Task] = {}
        """Accepted tasks by full name."""
        self.create_task_calls = 0
        self.unavailable_next = 0
        """Answer ``UNAVAILABLE`` to this many further ``CreateTask`` calls."""
        self.unavailable_always = False
        self.rejected_ids: set[str] = set()
        """Task ids answered with ``INVALID_ARGUMENT`` (a permanent, per-task failure)."""

    def create_queue(self, request: tasks_v2.CreateQueueRequest, context: grpc.ServicerContext) -> tasks_v2.Queue:
        with self._lock:
            if request.queue.name in self.queues:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "queue exists")
            self.queues.add(request.queue.name)
        return request.queue

    def create_task(self, request: tasks_v2.CreateTaskRequest, context: grpc.ServicerContext) -> tasks_v2.Task:
        with self._lock:
            self.create_task_calls += 1
            if self.unavailable_always or self.unavailable_next > 0:
                self.unavailable_next = max(0, self.unavailable_next - 1)
                context.abort(grpc.StatusCode.UNAVAILABLE, "backend unavailable")
            if request.parent not in self.queues:
                context.abort(grpc.StatusCode.NOT_FOUND, "queue not found")
            if request.task.name.rsplit("/", 1)[1] in self.rejected_ids:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "task rejected")
            if request.task.name in self.tasks:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, "task exists")
            self.tasks[request.task.name] = request.task
        return request.task


def _unary(
    method: Callable[[Any, grpc.ServicerContext], Any], request_type: Any, response_type: Any
) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        method, request_deserializer=request_type.deserialize, response_serializer=response_type.serialize
    )


@contextmanager
def strict_tasks_server() -> Iterator[tuple[str, StrictTasksBackend]]:
    """Serve a fresh backend on a free loopback port; yields its ``host:port`` and the backend."""
    backend = StrictTasksBackend()
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "CreateQueue": _unary(backend.create_queue, tasks_v2.CreateQueueRequest, tasks_v2.Queue),
            "CreateTask": _unary(backend.create_task, tasks_v2.CreateTaskRequest, tasks_v2.Task),
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", backend
    finally:
        server.stop(grace=None)
