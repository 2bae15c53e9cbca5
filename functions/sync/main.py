"""Entry points of the sync functions: ``sync_dispatch`` (Cloud Scheduler) and ``sync_worker`` (Cloud Tasks)."""

from typing import Any

import functions_framework

from shared.bootstrap import serve


@functions_framework.http
def sync_dispatch(request: Any) -> Any:
    return serve("sync_dispatch", request)


@functions_framework.http
def sync_worker(request: Any) -> Any:
    return serve("sync_worker", request)
