"""Entry points of the ``connect`` source, both running as the ``connect`` identity (writes and destroys secrets):

* ``connect``: connect, rotate and disconnect provider admin keys (public, behind the front door);
* ``enterprise_erase``: erase an enterprise whose erasure was requested (Cloud Tasks);
* ``key_retire``: destroy a key version a rotation replaced, after its grace period (Cloud Tasks).
"""

from typing import Any

import functions_framework

from shared.bootstrap import serve
from shared.web.flask_glue import unroutable

functions_framework.errorhandler(404)(unroutable)


@functions_framework.http
def connect(request: Any) -> Any:
    return serve("connect", request)


@functions_framework.http
def enterprise_erase(request: Any) -> Any:
    return serve("enterprise_erase", request)


@functions_framework.http
def key_retire(request: Any) -> Any:
    return serve("key_retire", request)
