"""Entry points of the report functions: ``reports`` (public exports), ``reports_dispatch`` (Cloud Scheduler) and
``report_worker`` (Cloud Tasks)."""

from typing import Any

import functions_framework

from shared.bootstrap import serve
from shared.web.flask_glue import unroutable

functions_framework.errorhandler(404)(unroutable)


@functions_framework.http
def reports(request: Any) -> Any:
    return serve("reports", request)


@functions_framework.http
def reports_dispatch(request: Any) -> Any:
    return serve("reports_dispatch", request)


@functions_framework.http
def report_worker(request: Any) -> Any:
    return serve("report_worker", request)
