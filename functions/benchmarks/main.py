"""Entry point of the ``benchmarks_aggregate`` function (Cloud Scheduler, monthly): the anonymous peer benchmark."""

from typing import Any

import functions_framework

from shared.bootstrap import serve


@functions_framework.http
def benchmarks_aggregate(request: Any) -> Any:
    return serve("benchmarks_aggregate", request)
