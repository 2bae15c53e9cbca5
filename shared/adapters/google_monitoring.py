"""Cloud Monitoring ``projects.timeSeries.list``: daily Gemini token counts of one project, page by page.

Each query asks for the daily sums (``ALIGN_SUM`` over ``86400s``, summed across series by the family's grouping
labels) of ``[start 00:00 UTC, end 00:00 UTC)``, so every point is one UTC day. Pages are followed through
``nextPageToken``; a repeated token is a broken cursor. A page that cannot be placed at all fails every day of the
window for that project; an unreadable point fails its own day (``shared.domain.google_usage``).

A project the service account may not read answers 403 (or 404: Google does not say whether it exists); both are
``ProviderPermissionError`` with a hint naming the project and the role to grant.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from datetime import date, datetime, timedelta
from typing import Any

from shared.adapters.google_token import AccessTokens
from shared.adapters.provider_http import ProviderHttp
from shared.adapters.report_pager import days_of
from shared.domain.google_usage import ALIGNMENT_PERIOD, MetricFamily, SeriesPage, parse_page
from shared.domain.normalise import DayFailure
from shared.domain.usage import Provider, day_start
from shared.errors import ProviderPermissionError, ProviderResponseError
from shared.log import redact

PAGE_SIZE = 10_000
"""Points per page asked for (Cloud Monitoring's maximum is 100,000; a server may return fewer)."""
MAX_PAGES = 1_000
ROLE = "roles/monitoring.viewer"


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
        """The cheapest read that proves ``monitoring.timeSeries.list`` on the project (headers of the last hour)."""
        params = [
            ("filter", 'metric.type = "aiplatform.googleapis.com/publisher/online_serving/token_count"'),
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
            body = await self._get(project_id, params, report=family.name)
            try:
                page = parse_page(family, project_id, body)
            except ProviderResponseError as e:
                return _all_failed(start, end, e)
            merged.points += page.points
            merged.failures.update(page.failures)
            token = page.next_page_token
            if token is None:
                return merged
            if token in seen:
                break
            seen.add(token)
        error = ProviderResponseError("google repeated a time series page token", provider=Provider.GOOGLE.value)
        return _all_failed(start, end, error)

    async def _get(self, project_id: str, params: list[tuple[str, str]], report: str | None = None) -> Any:
        path = f"/v3/projects/{project_id}/timeSeries"
        try:
            response = await self._http.get_json(
                path,
                params,
                headers=await self._tokens.headers(),
                status_errors={404: ProviderPermissionError},
            )
        except ProviderPermissionError as e:
            hint = f"grant the service account {ROLE} on project {project_id}"
            raise ProviderPermissionError(e.message, provider=e.provider, hint=hint) from e
        if report is not None:
            query = [[k, redact(v)] for k, v in params]
            self._pages.append({"report": f"monitoring.{report}", "path": path, "query": query, "body": response.raw})
        return response.body


def _all_failed(start: date, end: date, error: ProviderResponseError) -> SeriesPage:
    return SeriesPage(failures=dict.fromkeys(days_of(start, end), DayFailure.of(error)))
