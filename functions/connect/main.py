"""Entry point of the ``connect`` function: connect, rotate and disconnect provider admin keys (writes secrets)."""

from typing import Any

import functions_framework

from shared.bootstrap import serve


@functions_framework.http
def connect(request: Any) -> Any:
    return serve("connect", request)
