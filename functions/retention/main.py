"""Entry point of the ``retention_sweep`` function (Cloud Scheduler, daily): deletes usage data past its retention and
re-enqueues stalled erasures. Its identity holds no Secret Manager role."""

from typing import Any

import functions_framework

from shared.bootstrap import serve


@functions_framework.http
def retention_sweep(request: Any) -> Any:
    return serve("retention_sweep", request)
