"""Tell a Cloud Tasks delivery that failed for the last time from one that will be retried.

Cloud Tasks retries a task until its queue's ``max_attempts`` (which counts the first attempt) and then drops it
without a trace in our logs. Each delivery carries ``X-CloudTasks-QueueName`` and ``X-CloudTasks-TaskRetryCount``
(0 on the first attempt; https://cloud.google.com/tasks/docs/creating-http-target-tasks#handler), so a task route
answering a failure on attempt ``max_attempts`` logs ``event: task_given_up``, which a log-based metric counts and an
alert policy watches (``infra/terraform/modules/platform/monitoring.tf``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.web.http import Headers

TASK_GIVEN_UP_EVENT = "task_given_up"
_AUTH_FAILURES = (401, 403)
"""Not a delivery of ours (or a misconfigured invoker, which the 5xx/4xx dashboards show): never an event."""


def given_up(headers: Headers, status: int, max_attempts: Mapping[str, int]) -> dict[str, Any] | None:
    """The log fields of a delivery that failed on its queue's last attempt; ``None`` otherwise."""
    if 200 <= status < 300 or status in _AUTH_FAILURES:
        return None
    queue = headers.get("x-cloudtasks-queuename", "")
    retries = headers.get("x-cloudtasks-taskretrycount", "")
    if queue not in max_attempts or not retries.isdigit():
        return None
    if int(retries) + 1 < max_attempts[queue]:
        return None
    return {
        "event": TASK_GIVEN_UP_EVENT,
        "queue": queue,
        "task": headers.get("x-cloudtasks-taskname", ""),
        "attempt": int(retries) + 1,
        "status": status,
    }
