"""What Google refuses, and how it says so: the rules the simulator's Google routes enforce, each from a doc page.

* Error bodies (cloud.google.com/apis/design/errors): ``{"error": {"code", "message", "status", "details"}}``, the
  details holding a ``google.rpc.ErrorInfo`` whose ``reason`` is machine-readable: ``ACCESS_TOKEN_SCOPE_INSUFFICIENT``
  (the token's OAuth scopes do not cover the method), ``SERVICE_DISABLED`` (the API is not enabled in the project,
  metadata ``service``, ``consumer``, ``activationUrl``). BigQuery's v2 API adds its legacy ``errors[]`` list
  (``reason`` ``insufficientPermissions``, ``accessNotConfigured``, ``accessDenied``, ``notFound``, ``invalidQuery``).
* Scopes per method, from each method's "Authorization scopes" section: ``projects.timeSeries.list`` accepts
  ``monitoring``, ``monitoring.read`` or ``cloud-platform``; ``jobs.query`` ``bigquery``, ``cloud-platform`` or
  ``cloud-platform.read-only``; ``jobs.getQueryResults`` those and ``bigquery.readonly``.
* ``projects.timeSeries.list`` (monitoring/api/ref_v3/rest/v3/projects.timeSeries/list): ``filter`` is required and
  "must specify a single metric type" (an exact ``metric.type = "..."``; no regex, prefix, ``OR`` or second type);
  ``interval.endTime`` is required; an ``aggregation.perSeriesAligner`` other than ``ALIGN_NONE`` requires an
  ``alignmentPeriod``; a ``crossSeriesReducer`` requires both, "or an error is returned". ``groupByFields``
  without a reducer are ignored by Google, so they are not refused.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from devstack.provider_sim.gateway import json_response
from devstack.provider_sim.params import QueryArgs

_AUTH = "https://www.googleapis.com/auth/"
MONITORING_SCOPES = frozenset(_AUTH + s for s in ("monitoring", "monitoring.read", "cloud-platform"))
JOBS_QUERY_SCOPES = frozenset(_AUTH + s for s in ("bigquery", "cloud-platform", "cloud-platform.read-only"))
QUERY_RESULTS_SCOPES = JOBS_QUERY_SCOPES | {_AUTH + "bigquery.readonly"}

MONITORING = ("monitoring.googleapis.com", "Cloud Monitoring API", "google.monitoring.v3.MetricService.ListTimeSeries")
BIGQUERY = ("bigquery.googleapis.com", "BigQuery API", "google.cloud.bigquery.v2.JobService.Query")

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    529: "UNAVAILABLE",
}
_METRIC_TYPE = re.compile(r"\bmetric\.type\b")
_EXACT_TYPE = re.compile(r'^\s*metric\.type\s*=\s*"([^"]+)"')


def api_error(
    status: int, message: str, reason: str | None = None, details: list[dict[str, Any]] | None = None
) -> Response:
    """Google's error body; ``reason`` fills BigQuery's legacy ``errors[]``, ``details`` the ErrorInfo list."""
    error: dict[str, Any] = {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}
    if reason:
        error["errors"] = [{"message": message, "domain": "global", "reason": reason}]
    if details:
        error["details"] = details
    return json_response({"error": error}, status)


def _error_info(reason: str, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": metadata,
    }


def scope_insufficient(api: tuple[str, str, str]) -> Response:
    service, _title, method = api
    return api_error(
        403,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
        [_error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", {"service": service, "method": method})],
    )


def service_disabled(api: tuple[str, str, str], project: str) -> Response:
    service, title, _method = api
    url = f"https://console.developers.google.com/apis/api/{service}/overview?project={project}"
    message = (
        f"{title} has not been used in project {project} before or it is disabled. Enable it by visiting {url} "
        "then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our "
        "systems and retry."
    )
    metadata = {"service": service, "consumer": f"projects/{project}", "activationUrl": url, "serviceTitle": title}
    return api_error(403, message, "accessNotConfigured", [_error_info("SERVICE_DISABLED", metadata)])


def invalid_argument(field: str, detail: str) -> Response:
    return api_error(400, f"Field {field} had an invalid value: {detail}", "badRequest")


def single_metric_type(filter_text: str | None) -> str | None:
    """The one metric type ``filter_text`` names exactly, or ``None`` when Google would refuse the filter."""
    if not filter_text or len(_METRIC_TYPE.findall(filter_text)) != 1 or re.search(r"\bOR\b", filter_text):
        return None
    clauses = re.split(r"\bAND\b", filter_text)
    for clause in clauses:
        if found := _EXACT_TYPE.match(clause):
            return found.group(1)
    return None


def time_series_problem(args: QueryArgs) -> Response | None:
    """A 400 for a ``timeSeries.list`` query Google refuses, or ``None``."""
    filter_text = args.one("filter")
    if single_metric_type(filter_text) is None:
        detail = 'the filter must specify a single metric type with metric.type = "..."'
        return invalid_argument("filter", f"{filter_text!r}: {detail}" if filter_text else detail)
    if not args.one("interval.endTime"):
        return invalid_argument("interval.endTime", "the time interval is required")
    aligner = args.one("aggregation.perSeriesAligner") or "ALIGN_NONE"
    reducer = args.one("aggregation.crossSeriesReducer") or "REDUCE_NONE"
    period = args.one("aggregation.alignmentPeriod")
    if reducer != "REDUCE_NONE" and aligner == "ALIGN_NONE":
        return invalid_argument("aggregation.perSeriesAligner", "a cross-series reducer requires a per-series aligner")
    if aligner != "ALIGN_NONE" and not period:
        return invalid_argument("aggregation.alignmentPeriod", f"{aligner} requires an alignment period")
    return None
