"""Anthropic Admin API client: ``usage_report/messages`` and ``cost_report``, as a ``UsageSource``.

One pull asks both reports for daily (UTC) buckets at the documented maximum page size (31), grouped by every
dimension the schema keeps (usage: model, workspace, API key, service tier, context window; cost: description —
which carries model, token type, tier and context window — and workspace), following every page; both reports
run concurrently. Priority Tier usage is never in the cost report (billed separately); reconciliation knows.

These are the reports Anthropic now calls legacy. The newer Usage and Cost Analytics API can be added as a sibling
client sharing ``provider_http`` and ``report_pager``, with its own parser in ``shared.domain``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from shared.adapters.provider_http import ProviderHttp, QueryParams, RetryPolicy, Sleep
from shared.adapters.report_pager import Report, pull_reports
from shared.domain.providers import anthropic as anthropic_reports
from shared.domain.usage.normalise import DayPart
from shared.domain.usage.records import OrgIdentity, Provider, ProviderPull
from shared.errors import ProviderResponseError
from shared.ports import Clock, EarlyDays

ANTHROPIC_VERSION = "2023-06-01"
PAGE_LIMIT = 31
"""Maximum ``limit`` for ``bucket_width=1d`` of both reports."""


def _group_by(*fields: str) -> QueryParams:
    return tuple(("group_by[]", f) for f in fields)


REPORTS: tuple[Report, ...] = (
    Report(
        "usage",
        "/v1/organizations/usage_report/messages",
        PAGE_LIMIT,
        _group_by("model", "workspace_id", "api_key_id", "service_tier", "context_window"),
    ),
    Report("costs", "/v1/organizations/cost_report", PAGE_LIMIT, _group_by("description", "workspace_id")),
)


def _rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


class _Dialect:
    provider = Provider.ANTHROPIC

    def window_params(self, start: date, end_exclusive: date | None) -> QueryParams:
        if end_exclusive is None:
            return (("starting_at", _rfc3339(start)),)
        return (("starting_at", _rfc3339(start)), ("ending_at", _rfc3339(end_exclusive)))

    def bucket_day(self, bucket: Mapping[str, Any]) -> date:
        return anthropic_reports.bucket_day(bucket)

    def parse_bucket(self, report: str, bucket: Mapping[str, Any]) -> tuple[date, DayPart]:
        return anthropic_reports.parse_bucket(report, bucket)


class _Organization(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str | None = None


class AnthropicAdmin:
    """Reads an Anthropic organisation's usage and costs with an admin key (``sk-ant-admin...``).

    Args:
        api_key: The admin key; only ever read to build the ``x-api-key`` header of a request.
        base_url: Provider root without ``/v1`` (``Settings.anthropic_base_url``).
        http: A shared client (tests pass one with a mock transport); one is created and owned otherwise.
        policy: Timeouts, retries and concurrency.
        sleep: Awaited between retries.
        rng: Source of backoff jitter.
        clock: The current time: a window ending after it is asked open-ended.
    """

    provider: Provider = Provider.ANTHROPIC

    def __init__(
        self,
        api_key: SecretStr,
        *,
        base_url: str,
        http: httpx.AsyncClient | None = None,
        policy: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._key = api_key
        self._clock = clock
        self._http = ProviderHttp(
            Provider.ANTHROPIC, base_url, self._auth_headers, http=http, policy=policy, sleep=sleep, rng=rng
        )

    def __repr__(self) -> str:
        return "AnthropicAdmin(api_key=SecretStr('**********'))"

    def _auth_headers(self) -> dict[str, str]:
        return {
            "x-api-key": self._key.get_secret_value(),
            "anthropic-version": ANTHROPIC_VERSION,
            "Accept": "application/json",
        }

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AnthropicAdmin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def validate(self) -> OrgIdentity:
        """``GET /v1/organizations/me``: only admin keys may call it (others get 401), and it names the org."""
        response = await self._http.get_json("/v1/organizations/me", ())
        try:
            org = _Organization.model_validate(response.body)
        except ValidationError as e:
            raise ProviderResponseError("anthropic organization response is malformed", provider="anthropic") from e
        return OrgIdentity(provider=Provider.ANTHROPIC, org_id=org.id, org_name=org.name, permissions=("admin",))

    async def pull(self, start: date, end_exclusive: date, *, early: EarlyDays | None = None) -> ProviderPull:
        """Usage and costs for the UTC days ``[start, end_exclusive)``; a malformed day fails alone."""
        now = self._clock.now() if self._clock else datetime.now(UTC)
        return await pull_reports(self._http, _Dialect(), REPORTS, start, end_exclusive, now=now, early=early)
