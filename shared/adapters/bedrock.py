"""Amazon Bedrock as a ``UsageSource``: tokens from CloudWatch, billed cost from Cost Explorer (ADR 0022).

The "key" is the Bedrock connection (``shared.domain.providers.bedrock.connection``). With a role, the source first
assumes it (``aws_sts``) with a Google identity token of our service account whose audience is the enterprise's external
id; with the access-key fallback it signs with that key. Every AWS call is a SigV4-signed POST of the AWS JSON protocol
(``X-Amz-Target``), through the platform's ``ProviderHttp`` (timeouts, bounded retries, typed errors):

* CloudWatch, per region: ``ListMetrics`` (namespace ``AWS/Bedrock``, metric ``InputTokenCount``) for the model ids
  called in the last two weeks, plus Bedrock's catalogue of the region (``bedrock_catalog``) for the older ones,
  whose ``Invocations`` are probed first so that only models with data in the window are read in full; then
  ``GetMetricData`` (``Sum`` per 86400 s, at most 500 queries a request, paged by ``NextToken``);
* Cost Explorer: ``GetDimensionValues`` (``SERVICE`` matching "Bedrock": Amazon Bedrock and the Marketplace
  "… (Amazon Bedrock Edition)" services) then ``GetCostAndUsage`` (``DAILY``, ``UnblendedCost``, filtered to those
  services, grouped by ``USAGE_TYPE``, paged by ``NextPageToken``).

Without Cost Explorer every day is ``CostSource.ESTIMATED``. A day fails (and keeps its previous snapshot) when its
data could not be read.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import httpx
from pydantic import SecretStr

from shared.adapters.aws_json import CLOUDWATCH, AwsJson
from shared.adapters.aws_sigv4 import AwsCredentials
from shared.adapters.aws_sts import assume_role
from shared.adapters.bedrock_catalog import LIST_MODELS, catalogue
from shared.adapters.bedrock_cost_explorer import COST_PERMISSION, cost_explorer_rows
from shared.adapters.bedrock_cur import CurReader
from shared.adapters.google_identity import IdentityTokens, identity_tokens
from shared.adapters.provider_http import ClientOwner, RetryPolicy, Sleep, run_all
from shared.adapters.report_pager import days_of
from shared.config import Settings
from shared.domain.providers.bedrock.connection import BedrockConnection, parse_connection
from shared.domain.providers.bedrock.usage import (
    INVOCATIONS,
    NAMESPACE,
    MetricDays,
    MetricQuery,
    cost_lines,
    metric_days,
    model_ids,
    queries,
)
from shared.domain.usage.normalise import DayFailure, DayPart, build_day
from shared.domain.usage.pricing import PRICE_DATA_VERSION
from shared.domain.usage.records import CostLine, CostSource, OrgIdentity, Provider, ProviderPull
from shared.errors import InvalidInput, ProviderResponseError
from shared.ports import EarlyDays

MAX_QUERIES = 500
"""GetMetricData's limit of queries per request."""
MAX_PAGES = 200
LISTED_DAYS = 13
"""A window starting this recently is all in ``ListMetrics``, which lists metrics with data in the past two weeks
(a day's margin): daily and hourly syncs need no catalogue, so roles made before it was asked for keep syncing."""
METRICS_PERMISSION = "cloudwatch:GetMetricData"
CUR_PERMISSION = "s3:GetObject"


class BedrockUsage(ClientOwner):
    """Reads the Bedrock usage (and, with Cost Explorer, the cost) of one AWS account."""

    provider: Provider = Provider.BEDROCK

    def __init__(
        self,
        connection: SecretStr,
        *,
        settings: Settings,
        http: httpx.AsyncClient | None = None,
        policy: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        identity: IdentityTokens | None = None,
    ) -> None:
        self._connection: BedrockConnection = parse_connection(connection)
        self._settings = settings
        self._adopt_client(http, policy)
        self._identity = identity or identity_tokens(settings, self._client)
        self._credentials: AwsCredentials | None = None
        self._account_id: str | None = self._connection.account_id
        self._lock = asyncio.Lock()
        self._pages: list[dict[str, Any]] = []
        self._aws = AwsJson(
            self._client, settings, self._session, policy=policy, sleep=sleep, rng=rng, pages=self._pages
        )
        cur = self._connection.cur
        self._cur = CurReader(self._client, settings, cur, self._session) if cur is not None else None

    def __repr__(self) -> str:
        return f"BedrockUsage({self._connection!r})"

    # --- the UsageSource ---------------------------------------------------------------------------------------

    async def validate(self) -> OrgIdentity:
        """Assume the role, list and read Bedrock metrics in every region, and, if connected, read Cost Explorer.

        Raises ``ProviderAuthError`` (role not assumable, key invalid), ``ProviderPermissionError`` (an action or
        Cost Explorer missing), ``InvalidInput`` ``bedrock_metrics_empty`` (no Bedrock metrics in any region) or a
        transient error.
        """
        now = datetime.now(UTC)
        regions = self._connection.regions
        found = await run_all(self._active_models(r, now.date()) for r in regions)
        if not any(found):
            raise InvalidInput(
                "Amazon Bedrock accepted the role but CloudWatch has no AWS/Bedrock metrics in "
                f"{', '.join(regions)} for the last {self._settings.backfill_days} days: check the regions where "
                "Bedrock is called",
                code="bedrock_metrics_empty",
            )
        region, models = next((r, m) for r, m in zip(regions, found, strict=True) if m)
        start = now.date() - timedelta(days=1)
        await self._metric_data(queries(region, sorted(models)[:1]), start, now.date() + timedelta(days=1))
        permissions = [METRICS_PERMISSION, LIST_MODELS]
        if self._cur is not None:  # billed cost comes from the export, Cost Explorer is not asked
            await self._cur.check(now.date())
            permissions.append(CUR_PERMISSION)
        elif self._connection.cost_explorer:
            await cost_explorer_rows(self._aws, start, now.date())
            permissions.append(COST_PERMISSION)
        return OrgIdentity(
            provider=Provider.BEDROCK,
            org_id=self._account_id,
            org_name=None,
            permissions=tuple(permissions),
            principal=self._connection.role_arn,
            projects=self._connection.regions,
            billing_export=self._connection.billed,
        )

    async def pull(self, start: date, end_exclusive: date, *, early: EarlyDays | None = None) -> ProviderPull:
        """Usage (and billed or estimated cost) for the UTC days ``[start, end_exclusive)``."""
        if end_exclusive <= start:
            raise ValueError("end_exclusive must be after start")
        days = days_of(start, end_exclusive)
        billed = self._connection.billed
        both: list[Any] = await run_all(
            [self._usage(start, end_exclusive, days), self._billed(start, end_exclusive, days)]
        )
        metrics, costs = cast(MetricDays, both[0]), cast(_Costs | None, both[1])
        source = CostSource.BILLED if billed else CostSource.ESTIMATED
        built = {}
        for day in days:
            failure = metrics.failures.get(day) or (costs.failure if isinstance(costs, _Costs) else None)
            lines = tuple(costs.lines.get(day, ())) if isinstance(costs, _Costs) else ()
            parts = [metrics.part(day), DayPart(costs=lines)]
            built[day] = build_day(Provider.BEDROCK, day, parts, failure, cost_source=source)
        return ProviderPull(
            provider=Provider.BEDROCK,
            start=start,
            end_exclusive=end_exclusive,
            days=built,
            price_data_version=PRICE_DATA_VERSION,
            raw_pages=tuple(self._pages),
        )

    # --- CloudWatch --------------------------------------------------------------------------------------------

    async def _usage(self, start: date, end: date, days: list[date]) -> MetricDays:
        per_region = await run_all(self._region_usage(r, start, end, days) for r in self._connection.regions)
        merged = MetricDays()
        for part in per_region:
            for day, usage in part.usage.items():
                merged.usage.setdefault(day, []).extend(usage)
            for day, meters in part.meters.items():
                merged.meters.setdefault(day, []).extend(meters)
            merged.failures.update(part.failures)
        return merged

    async def _active_models(self, region: str, today: date) -> set[str]:
        """Models with metrics in the backfill window: listed ones, else any of the catalogue's with invocations."""
        listed = await self._list_models(region, first_page_only=True)
        known = await catalogue(self._aws, region)  # also proves the role may read the catalogue
        if listed:
            return listed
        start = today - timedelta(days=self._settings.backfill_days)
        return await self._probe(region, known, start, today + timedelta(days=1))

    async def _region_usage(self, region: str, start: date, end: date, days: list[date]) -> MetricDays:
        if start >= datetime.now(UTC).date() - timedelta(days=LISTED_DAYS):
            called = await self._list_models(region)  # every model with data since ``start`` is listed
        else:
            listed, known = await run_all([self._list_models(region), catalogue(self._aws, region)])
            called = listed | await self._probe(region, known - listed, start, end)
        wanted = queries(region, called)
        by_id = {q.id: q for q in wanted}
        results: list[dict[str, Any]] = []
        for i in range(0, len(wanted), MAX_QUERIES):
            results += await self._metric_data(wanted[i : i + MAX_QUERIES], start, end)
        try:
            return metric_days(_merge_results(results), by_id, days)
        except ProviderResponseError as e:
            return MetricDays(failures=dict.fromkeys(days, DayFailure.of(e)))

    async def _probe(self, region: str, candidates: set[str], start: date, end: date) -> set[str]:
        """The candidates with any ``Invocations`` in ``[start, end)``: one query per model, not five."""
        probes = [MetricQuery(f"p{i}", region, m, INVOCATIONS) for i, m in enumerate(sorted(candidates))]
        by_id = {q.id: q.model_id for q in probes}
        called: set[str] = set()
        for i in range(0, len(probes), MAX_QUERIES):
            for result in await self._metric_data(probes[i : i + MAX_QUERIES], start, end):
                if any(result.get("Values") or []) and result.get("Id") in by_id:
                    called.add(by_id[str(result["Id"])])
        return called

    async def _list_models(self, region: str, *, first_page_only: bool = False) -> set[str]:
        found: set[str] = set()
        body: dict[str, Any] = {"Namespace": NAMESPACE, "MetricName": "InputTokenCount"}
        for _ in range(MAX_PAGES):
            page = await self._aws.call(CLOUDWATCH, region, "ListMetrics", body, "cloudwatch:ListMetrics")
            found |= model_ids(page.body.get("Metrics") or [])
            token = page.body.get("NextToken")
            if not token or first_page_only:
                return found
            body = {**body, "NextToken": token}
        raise ProviderResponseError("CloudWatch ListMetrics did not stop paging", provider="bedrock")

    async def _metric_data(self, wanted: list[Any], start: date, end: date) -> list[dict[str, Any]]:
        if not wanted:
            return []
        region = wanted[0].region
        body: dict[str, Any] = {
            "MetricDataQueries": [q.wire() for q in wanted],
            "StartTime": int(_midnight(start).timestamp()),
            "EndTime": int(_midnight(end).timestamp()),
            "ScanBy": "TimestampAscending",
        }
        results: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = await self._aws.call(CLOUDWATCH, region, "GetMetricData", body, METRICS_PERMISSION)
            results += page.body.get("MetricDataResults") or []
            token = page.body.get("NextToken")
            if not token:
                return results
            body = {**body, "NextToken": token}
        raise ProviderResponseError("CloudWatch GetMetricData did not stop paging", provider="bedrock")

    # --- Cost Explorer -------------------------------------------------------------------------------------------

    async def _billed(self, start: date, end: date, days: list[date]) -> _Costs | None:
        if self._cur is not None:
            rows = await self._cur.rows(start, end, days)
        elif self._connection.cost_explorer:
            rows = await cost_explorer_rows(self._aws, start, end)
        else:
            return None
        try:
            return _Costs(cost_lines(rows))
        except ProviderResponseError as e:  # a malformed answer fails the window's days, not the pull
            return _Costs({}, DayFailure.of(e))

    # --- credentials ---------------------------------------------------------------------------------------------

    async def _session(self) -> AwsCredentials:
        async with self._lock:
            if self._credentials is not None and not _expiring(self._credentials):
                return self._credentials
            connection = self._connection
            if connection.role_arn is None:
                assert connection.access_key_id is not None
                assert connection.secret_access_key is not None
                self._credentials = AwsCredentials(connection.access_key_id, connection.secret_access_key)
                return self._credentials
            token = await self._identity(connection.external_id)
            session = await assume_role(self._client, self._settings.aws_sts_url, connection.role_arn, token)
            self._credentials, self._account_id = session.credentials, session.account_id
            return self._credentials


class _Costs:
    def __init__(self, lines: dict[date, list[CostLine]], failure: DayFailure | None = None) -> None:
        self.lines = lines
        self.failure = failure


def _expiring(credentials: AwsCredentials) -> bool:
    expiry = credentials.expiration
    return expiry is not None and expiry - datetime.now(UTC) < timedelta(minutes=5)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _merge_results(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One result per id: a paged GetMetricData answer continues an id's timestamps on the next page."""
    merged: dict[str, dict[str, Any]] = {}
    for result in results:
        key = str(result.get("Id"))
        into = merged.setdefault(key, {"Id": key, "Timestamps": [], "Values": []})
        into["Timestamps"] += result.get("Timestamps") or []
        into["Values"] += result.get("Values") or []
    return list(merged.values())
