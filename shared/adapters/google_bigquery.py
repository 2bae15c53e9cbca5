"""The Cloud Billing export in BigQuery, read with ``jobs.query`` and ``jobs.getQueryResults`` (REST).

One read-only query per pull selects the export rows of the connected projects and Gemini's services
(``shared.domain.providers.google.billing.SERVICES``) whose ``usage_start_time`` falls in the window, taxes excluded.
Everything variable is a named query parameter; the table name, which BigQuery cannot take as a parameter, is
interpolated only after ``shared.domain.providers.google.connection`` checked it character by character. The query runs
in the table's project (the service account needs BigQuery Job User there and Data Viewer on the dataset).

``jobs.query`` may answer before the job completes (``jobComplete: false``): ``getQueryResults`` is polled, then
followed page by page through ``pageToken``. A ``requestId`` makes a retried ``jobs.query`` return the same job.
A refused permission (403), a missing table (404) or a table that is not a billing export (an unknown column, 400)
is ``BillingExportUnreadable``, each with its own code and hint (``google_errors.bigquery``), as are a disabled
BigQuery API and a missing OAuth scope; connecting runs the query as a dry run first, which checks them at no cost.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableSequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.adapters import google_errors
from shared.adapters.google_token import AccessTokens
from shared.adapters.provider_http import JsonResponse, ProviderHttp
from shared.domain.providers.google.billing import SERVICES
from shared.domain.providers.google.connection import BillingTable
from shared.domain.usage.records import Provider
from shared.errors import ProviderResponseError, ProviderUnavailable

MAX_RESULTS = 10_000
TIMEOUT_MS = 10_000
MAX_POLLS = 30
MAX_PAGES = 1_000

BILLING_SQL = """
SELECT
  usage_start_time,
  project.id AS project_id,
  service.description AS service,
  sku.id AS sku_id,
  sku.description AS sku_description,
  cost,
  currency,
  currency_conversion_rate,
  cost_type,
  usage.amount AS usage_amount,
  usage.unit AS usage_unit,
  credits
FROM {table}
WHERE usage_start_time >= @start
  AND usage_start_time < @end
  AND export_time >= @start
  AND project.id IN UNNEST(@projects)
  AND service.description IN UNNEST(@services)
  AND IFNULL(cost_type, 'regular') != 'tax'
ORDER BY usage_start_time, project_id, sku_id
"""
"""``export_time`` is never before the usage it exports: the condition lets BigQuery prune partitions."""


@dataclass(frozen=True)
class QueryResult:
    schema: dict[str, Any]
    rows: list[Any]


class BillingExportReader:
    """Queries one billing export table as one service account.

    Args:
        http: Calls ``Settings.google_bigquery_base_url``.
        tokens: Access tokens of the service account.
        pages: Receives a debugging copy of every result page.
        max_results: Rows per page asked for.
    """

    def __init__(
        self, http: ProviderHttp, tokens: AccessTokens, pages: MutableSequence[dict[str, Any]], max_results: int
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._pages = pages
        self._max_results = max_results

    async def check_access(self, table: BillingTable, projects: tuple[str, ...], today: date) -> None:
        """A dry run of the pull's query: the table exists, is readable, and has the export's columns."""
        await self._post(table, self._body(table, projects, today, today, dry_run=True))

    async def rows(self, table: BillingTable, projects: tuple[str, ...], start: date, end: date) -> QueryResult:
        """Every row the billing query returns for ``[start, end)`` (UTC days), with the result's schema."""
        first = await self._post(table, self._body(table, projects, start, end, dry_run=False))
        body = first.body
        job = body.get("jobReference") or {}
        for _ in range(MAX_POLLS):
            if body.get("jobComplete", True):
                break
            body = (await self._results(table, job, None)).body
        else:
            raise ProviderUnavailable("google billing query did not complete in time", provider=Provider.GOOGLE.value)
        schema, rows = body.get("schema"), list(body.get("rows") or [])
        token, seen = body.get("pageToken"), set()
        for _ in range(MAX_PAGES):
            if not token:
                return QueryResult(schema if isinstance(schema, dict) else {}, rows)
            if token in seen:
                break
            seen.add(token)
            page = (await self._results(table, job, token)).body
            rows += list(page.get("rows") or [])
            token = page.get("pageToken")
        raise ProviderResponseError("google repeated a query results page token", provider=Provider.GOOGLE.value)

    def _body(self, table: BillingTable, projects: tuple[str, ...], start: date, end: date, *, dry_run: bool) -> Any:
        def timestamp(name: str, day: date) -> dict[str, Any]:
            value = {"value": f"{day.isoformat()} 00:00:00+00:00"}
            return {"name": name, "parameterType": {"type": "TIMESTAMP"}, "parameterValue": value}

        def strings(name: str, values: tuple[str, ...]) -> dict[str, Any]:
            return {
                "name": name,
                "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
                "parameterValue": {"arrayValues": [{"value": v} for v in values]},
            }

        return {
            "query": BILLING_SQL.format(table=table.sql),
            "useLegacySql": False,
            "parameterMode": "NAMED",
            "queryParameters": [
                timestamp("start", start),
                timestamp("end", end),
                strings("projects", projects),
                strings("services", SERVICES),
            ],
            "maxResults": self._max_results,
            "timeoutMs": TIMEOUT_MS,
            "formatOptions": {"useInt64Timestamp": True},
            "requestId": str(uuid.uuid4()),
            "dryRun": dry_run,
        }

    async def _post(self, table: BillingTable, body: Any) -> JsonResponse:
        path = f"/bigquery/v2/projects/{table.project}/queries"
        headers = await self._tokens.headers()
        explain = google_errors.bigquery(table)
        response = await self._http.post_json(path, json_body=body, headers=headers, explain=explain)
        if not body["dryRun"]:
            query = [["table", table.name], ["start", body["queryParameters"][0]["parameterValue"]["value"]]]
            self._pages.append({"report": "billing_export", "path": path, "query": query, "body": response.text})
        return response

    async def _results(self, table: BillingTable, job: Any, token: str | None) -> JsonResponse:
        job_id = job.get("jobId") if isinstance(job, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise ProviderResponseError("google query response names no job", provider=Provider.GOOGLE.value)
        path = f"/bigquery/v2/projects/{table.project}/queries/{job_id}"
        params = [
            ("maxResults", str(self._max_results)),
            ("timeoutMs", str(TIMEOUT_MS)),
            ("formatOptions.useInt64Timestamp", "true"),
        ]
        if job.get("location"):
            params.append(("location", str(job["location"])))
        if token:
            params.append(("pageToken", token))
        headers = await self._tokens.headers()
        response = await self._http.get_json(path, params, headers=headers, explain=google_errors.bigquery(table))
        self._pages.append({"report": "billing_export", "path": path, "query": params, "body": response.text})
        return response
