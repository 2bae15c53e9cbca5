"""Entry points of the sync functions, all running as the ``sync`` identity:

* ``sync_dispatch``: enqueue the day's (or hour's) sync tasks (Cloud Scheduler);
* ``sync_worker``: sync one enterprise's usage and evaluate its alerts (Cloud Tasks);
* ``webhook_deliver``: retry an alert's webhook whose send failed (Cloud Tasks).
"""

from typing import Any

import functions_framework

from shared.bootstrap import serve


@functions_framework.http
def sync_dispatch(request: Any) -> Any:
    return serve("sync_dispatch", request)


@functions_framework.http
def sync_worker(request: Any) -> Any:
    return serve("sync_worker", request)


@functions_framework.http
def webhook_deliver(request: Any) -> Any:
    return serve("webhook_deliver", request)
