"""Google (Gemini on Vertex AI and the Gemini API) as a ``UsageSource``, read with a service-account key.

Google has no usage or cost report API (provider-apis.md §3). Tokens come from Cloud Monitoring time series of the
connected projects (``google_monitoring``); money from the Cloud Billing export in BigQuery (``google_bigquery``)
when one is connected, its rows net of credits and classified by SKU. Without a billing export every day is
``CostSource.ESTIMATED``: its usage is priced at public list prices and labelled so everywhere downstream.

The "key" this source opens on is the Google connection (``shared.domain.providers.google.connection``): the
service-account key, the project ids and the billing table, as stored in Secret Manager. Tokens are minted at
``Settings.google_token_url``; Monitoring and BigQuery are called at their ``Settings`` base URLs, through the
platform's ``ProviderHttp`` (timeouts, bounded retries, typed errors).

A pull is one token, ``projects × metric families`` Monitoring queries (concurrently, bounded) and one BigQuery
query. A day fails (and keeps its previous snapshot) when any of its parts could not be read.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime
from typing import Any, cast

import httpx
from pydantic import SecretStr

from shared.adapters.google_bigquery import MAX_RESULTS, BillingExportReader
from shared.adapters.google_monitoring import PAGE_SIZE, MonitoringReader
from shared.adapters.google_token import AccessTokens
from shared.adapters.provider_http import ClientOwner, ProviderHttp, RetryPolicy, Sleep, run_all
from shared.adapters.report_pager import days_of
from shared.config import Settings
from shared.domain.providers.google.billing import BilledDays, cost_lines, decode_rows
from shared.domain.providers.google.connection import SCOPES, GoogleConnection, parse_connection
from shared.domain.providers.google.usage import FAMILIES, SeriesPage, day_parts
from shared.domain.usage.normalise import DayFailure, DayPart, build_day
from shared.domain.usage.pricing import PRICE_DATA_VERSION
from shared.domain.usage.records import CostSource, OrgIdentity, Provider, ProviderPull
from shared.errors import ProviderResponseError
from shared.ports import EarlyDays

MONITORING_PERMISSION = "monitoring.timeSeries.list"
BILLING_PERMISSION = "billing_export.read"


class GoogleCloudUsage(ClientOwner):
    """Reads the Gemini usage (and, with a billing export, the cost) of a Google connection.

    Args:
        connection: The stored Google connection (``GoogleConnection.to_secret``).
        settings: Token URL and the Monitoring and BigQuery base URLs.
        http: A shared client (tests pass one); one is created and owned otherwise.
        policy: Timeouts, retries and concurrency.
        sleep: Awaited between retries.
        rng: Source of backoff jitter.
        page_size: Monitoring ``pageSize`` and BigQuery ``maxResults``.
    """

    provider: Provider = Provider.GOOGLE

    def __init__(
        self,
        connection: SecretStr,
        *,
        settings: Settings,
        http: httpx.AsyncClient | None = None,
        policy: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        page_size: int | None = None,
    ) -> None:
        self._connection: GoogleConnection = parse_connection(connection)
        self._adopt_client(http, policy)

        def provider_http(base_url: str) -> ProviderHttp:
            return ProviderHttp(Provider.GOOGLE, base_url, dict, http=self._client, policy=policy, sleep=sleep, rng=rng)

        self._tokens = AccessTokens(
            self._connection.service_account, provider_http(""), settings.google_token_url, SCOPES
        )
        self._pages: list[dict[str, Any]] = []
        self._monitoring = MonitoringReader(
            provider_http(settings.google_monitoring_base_url), self._tokens, self._pages, page_size or PAGE_SIZE
        )
        self._billing = BillingExportReader(
            provider_http(settings.google_bigquery_base_url), self._tokens, self._pages, page_size or MAX_RESULTS
        )

    def __repr__(self) -> str:
        return f"GoogleCloudUsage({self._connection!r})"

    async def validate(self) -> OrgIdentity:
        """Mint a token, read Monitoring on every project and, if connected, dry-run the billing query.

        Raises ``ProviderAuthError`` (key refused), ``ProviderPermissionError`` naming a project the account may not
        read, ``BillingExportUnreadable``, or a transient error.
        """
        connection = self._connection
        now = datetime.now(UTC)
        await self._tokens.token()
        await run_all(self._monitoring.check_access(p, now) for p in connection.project_ids)
        permissions = [MONITORING_PERMISSION]
        if connection.billing_export_table is not None:
            await self._billing.check_access(connection.billing_export_table, connection.project_ids, now.date())
            permissions.append(BILLING_PERMISSION)
        return OrgIdentity(
            provider=Provider.GOOGLE,
            org_id=None,
            org_name=None,
            permissions=tuple(permissions),
            principal=connection.service_account.client_email,
            projects=connection.project_ids,
            billing_export=connection.billing_export_table is not None,
        )

    async def pull(self, start: date, end_exclusive: date, *, early: EarlyDays | None = None) -> ProviderPull:
        """Usage (and billed or estimated cost) for the UTC days ``[start, end_exclusive)``."""
        if end_exclusive <= start:
            raise ValueError("end_exclusive must be after start")
        connection = self._connection
        series = run_all(
            self._monitoring.series(p, f, start, end_exclusive) for p in connection.project_ids for f in FAMILIES
        )
        # Both concurrently; the first failure cancels the other (no request outlives the pull).
        both: list[Any] = await run_all([series, self._billed(start, end_exclusive)])
        pages = cast(list[SeriesPage], both[0])
        billed = cast(BilledDays | None, both[1])
        days = days_of(start, end_exclusive)
        failures: dict[date, DayFailure] = {}
        for page in pages:
            failures.update(page.failures)
        failures.update(billed.failures if billed else {})
        usage = day_parts((p for page in pages for p in page.points), days)
        source = CostSource.BILLED if billed is not None else CostSource.ESTIMATED
        built = {}
        for day in days:
            costs = DayPart(costs=tuple(billed.lines.get(day, ()))) if billed else DayPart()
            quantities = billed.quantities.get(day, []) if billed else None
            built[day] = build_day(
                Provider.GOOGLE, day, [usage[day], costs], failures.get(day), cost_source=source, list_usage=quantities
            )
        return ProviderPull(
            provider=Provider.GOOGLE,
            start=start,
            end_exclusive=end_exclusive,
            days=built,
            price_data_version=PRICE_DATA_VERSION,
            raw_pages=tuple(self._pages),
        )

    async def _billed(self, start: date, end: date) -> BilledDays | None:
        table = self._connection.billing_export_table
        if table is None:
            return None
        result = await self._billing.rows(table, self._connection.project_ids, start, end)
        try:
            return cost_lines(decode_rows(result.schema, result.rows))
        except ProviderResponseError as e:
            return BilledDays(failures=dict.fromkeys(days_of(start, end), DayFailure.of(e)))
