"""Cloud Monitoring ``projects.timeSeries.list``: daily Gemini token counts of one project, page by page.

Each query asks for the daily sums (``ALIGN_SUM`` over ``86400s``, summed across series by the family's grouping
labels) of ``[start 00:00 UTC, end 00:00 UTC)``, so every point is one UTC day. Pages are followed through
``nextPageToken``; a repeated token is a broken cursor. A page that cannot be placed at all, or a query Google
refuses as a bad request, fails every day of the window for that project and family alone (the other families and
projects are still read); an unreadable point fails its own day (``shared.domain.providers.google.usage``).

Refusals are told apart by Google's error body (``google_errors.monitoring``): a missing role (403), a disabled
Cloud Monitoring API (403 ``SERVICE_DISABLED``), a project Google does not know (404), a missing OAuth scope.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from datetime import date, datetime, timedelta
from typing import Any

from shared.adapters import google_errors
from shared.adapters.google_token import AccessTokens
from shared.adapters.provider_http import ProviderHttp
from shared.adapters.report_pager import days_of
from shared.domain.providers.google.usage import ALIGNMENT_PERIOD, FAMILIES, MetricFamily, SeriesPage, parse_page
from shared.domain.usage.normalise import DayFailure
from shared.domain.usage.records import Provider, day_start
from shared.errors import ProviderResponseError
from shared.log import redact

PAGE_SIZE = 10_000
"""Points per page asked for (Cloud Monitoring's maximum is 100,000; a server may return fewer)."""
MAX_PAGES = 1_000


def _rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class MonitoringReader:
    """Reads one service account's view of Cloud Monitoring.

    Args:
        http: Calls ``Settings.google_monitoring_base_url``.
        tokens: Access tokens of the service account.
        pages: Receives a debugging copy of every page (``ProviderPull.raw_pages`` entries).
        page_size: ``pageSize`` asked for.
    """

    def __init__(
        self, http: ProviderHttp, tokens: AccessTokens, pages: MutableSequence[dict[str, Any]], page_size: int
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._pages = pages
        self._page_size = page_size

    async def check_access(self, project_id: str, now: datetime) -> None:
        """The cheapest reads that prove the pull's every query on the project: each family's exact filter, headers
        only, over the last hour. A filter Google refuses fails here, at connect, not at the first sync."""
        for family in FAMILIES:
            params = [
                ("filter", family.filter),
                ("interval.startTime", _rfc3339(now - timedelta(hours=1))),
                ("interval.endTime", _rfc3339(now)),
                ("view", "HEADERS"),
                ("pageSize", "1"),
            ]
            await self._get(project_id, params)

    async def series(self, project_id: str, family: MetricFamily, start: date, end: date) -> SeriesPage:
        """Every page of ``family`` for the project over ``[start, end)``, merged; window-wide failures on days."""
        merged = SeriesPage()
        token: str | None = None
        seen: set[str] = set()
        base = [
            ("filter", family.filter),
            ("interval.startTime", _rfc3339(day_start(start))),
            ("interval.endTime", _rfc3339(day_start(end))),
            ("aggregation.alignmentPeriod", ALIGNMENT_PERIOD),
            ("aggregation.perSeriesAligner", "ALIGN_SUM"),
            ("aggregation.crossSeriesReducer", "REDUCE_SUM"),
            *(("aggregation.groupByFields", f) for f in family.group_by),
            ("view", "FULL"),
            ("pageSize", str(self._page_size)),
        ]
        for _ in range(MAX_PAGES):
            params = base + ([("pageToken", token)] if token else [])
            try:
                body = await self._get(project_id, params, report=family.name)
                page = parse_page(family, project_id, body)
            except ProviderResponseError as e:  # this family's query or page only: the others are still read
                if e.code == "google_scope_insufficient":
                    raise  # the token cannot read Monitoring at all: no family can be read
                return _all_failed(start, end, _of_family(e, project_id, family))
            merged.points += page.points
            merged.failures.update(page.failures)
            token = page.next_page_token
            if token is None:
                return merged
            if token in seen:
                break
            seen.add(token)
        error = ProviderResponseError("google repeated a time series page token", provider=Provider.GOOGLE.value)
        return _all_failed(start, end, _of_family(error, project_id, family))

    async def _get(self, project_id: str, params: list[tuple[str, str]], report: str | None = None) -> Any:
        path = f"/v3/projects/{project_id}/timeSeries"
        explain = google_errors.monitoring(project_id)
        response = await self._http.get_json(path, params, headers=await self._tokens.headers(), explain=explain)
        if report is not None:
            query = [[k, redact(v)] for k, v in params]
            self._pages.append({"report": f"monitoring.{report}", "path": path, "query": query, "body": response.text})
        return response.body


def _of_family(error: ProviderResponseError, project_id: str, family: MetricFamily) -> ProviderResponseError:
    """The same error, its message naming the family and project whose days it fails."""
    message = f"{family.name} of project {project_id}: {error.message}"
    return ProviderResponseError(message, provider=error.provider, code=error.code, hint=error.hint)


def _all_failed(start: date, end: date, error: ProviderResponseError) -> SeriesPage:
    return SeriesPage(failures=dict.fromkeys(days_of(start, end), DayFailure.of(error)))
