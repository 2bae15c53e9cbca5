"""Entry point of the ``api`` function: the public REST API (reads and enterprise management, no secrets)."""

from typing import Any

import functions_framework

from shared.bootstrap import serve
from shared.web.flask_glue import unroutable

functions_framework.errorhandler(404)(unroutable)


@functions_framework.http
def api(request: Any) -> Any:
    return serve("api", request)
