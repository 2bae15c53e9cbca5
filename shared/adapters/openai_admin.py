"""OpenAI Admin API client: organisation usage and costs, as a ``UsageSource``.

One pull asks every usage report and the costs report for daily (UTC) buckets at the documented maximum page size
(31 buckets for usage, 180 for costs), grouped by every dimension the schema keeps, and follows every page.
Reports run concurrently, bounded by the policy's concurrency. Token reports (completions, embeddings,
moderations) become priced usage; the others are kept as non-token meters, their money being in the costs report.
Arrays are sent as ``group_by[]=...``, as the official SDK does.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from shared.adapters.provider_http import ProviderHttp, QueryParams, RetryPolicy, Sleep
from shared.adapters.report_pager import Report, pull_reports
from shared.domain.providers import openai as openai_reports
from shared.domain.usage.normalise import DayPart
from shared.domain.usage.records import OrgIdentity, Provider, ProviderPull, day_start
from shared.errors import ProviderPermissionError
from shared.ports import Clock, EarlyDays

USAGE_PAGE_LIMIT = 31
"""Maximum ``limit`` of ``/organization/usage/*`` for ``bucket_width=1d``."""
COSTS_PAGE_LIMIT = 180
"""Maximum ``limit`` of ``/organization/costs`` (daily buckets only)."""

_USAGE = "/v1/organization/usage/"
_KEYED = ("model", "project_id", "api_key_id")


def _group_by(*fields: str) -> QueryParams:
    return tuple(("group_by[]", f) for f in fields)


REPORTS: tuple[Report, ...] = (
    Report(
        "completions",
        _USAGE + "completions",
        USAGE_PAGE_LIMIT,
        _group_by("model", "project_id", "api_key_id", "batch", "service_tier"),
        large=True,
    ),
    Report("embeddings", _USAGE + "embeddings", USAGE_PAGE_LIMIT, _group_by(*_KEYED)),
    Report("moderations", _USAGE + "moderations", USAGE_PAGE_LIMIT, _group_by(*_KEYED)),
    Report("images", _USAGE + "images", USAGE_PAGE_LIMIT, _group_by(*_KEYED)),
    Report("audio_speeches", _USAGE + "audio_speeches", USAGE_PAGE_LIMIT, _group_by(*_KEYED)),
    Report("audio_transcriptions", _USAGE + "audio_transcriptions", USAGE_PAGE_LIMIT, _group_by(*_KEYED)),
    Report("vector_stores", _USAGE + "vector_stores", USAGE_PAGE_LIMIT, _group_by("project_id")),
    Report(
        "code_interpreter_sessions", _USAGE + "code_interpreter_sessions", USAGE_PAGE_LIMIT, _group_by("project_id")
    ),
    Report("file_search_calls", _USAGE + "file_search_calls", USAGE_PAGE_LIMIT, _group_by("project_id", "api_key_id")),
    Report("web_search_calls", _USAGE + "web_search_calls", USAGE_PAGE_LIMIT, _group_by(*_KEYED)),
    Report("costs", "/v1/organization/costs", COSTS_PAGE_LIMIT, _group_by("line_item", "project_id"), large=True),
)


def _epoch(day: date) -> str:
    return str(int(day_start(day).timestamp()))


class _Dialect:
    provider = Provider.OPENAI

    def window_params(self, start: date, end_exclusive: date | None) -> QueryParams:
        if end_exclusive is None:
            return (("start_time", _epoch(start)),)
        return (("start_time", _epoch(start)), ("end_time", _epoch(end_exclusive)))

    def bucket_day(self, bucket: Mapping[str, Any]) -> date:
        return openai_reports.bucket_day(bucket)

    def parse_bucket(self, report: str, bucket: Mapping[str, Any]) -> tuple[date, DayPart]:
        return openai_reports.parse_bucket(report, bucket)


PROJECTS_LIMIT = 100
"""The documented maximum page size of ``GET /v1/organization/projects``."""


def _project_ids(body: Any) -> tuple[str, ...]:
    """Project ids of a projects page; tolerant of shapes the docs do not promise (anything else is skipped)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return ()
    return tuple(sorted({p["id"] for p in data if isinstance(p, dict) and isinstance(p.get("id"), str) and p["id"]}))


class OpenAIAdmin:
    """Reads an OpenAI organisation's usage and costs with an admin key (``sk-admin-...``).

    Args:
        api_key: The admin key; only ever read to build the ``Authorization`` header of a request.
        base_url: Provider root without ``/v1`` (``Settings.openai_base_url``).
        http: A shared client (tests pass one with a mock transport); one is created and owned otherwise.
        policy: Timeouts, retries and concurrency.
        sleep: Awaited between retries.
        rng: Source of backoff jitter.
        clock: The current time, for the validation call's window.
    """

    provider: Provider = Provider.OPENAI

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
            Provider.OPENAI, base_url, self._auth_headers, http=http, policy=policy, sleep=sleep, rng=rng
        )

    def __repr__(self) -> str:
        return "OpenAIAdmin(api_key=SecretStr('**********'))"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.get_secret_value()}", "Accept": "application/json"}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OpenAIAdmin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def validate(self) -> OrgIdentity:
        """Prove the key can read costs (``api.usage.read``); record whether it can also read projects, and which.

        The project ids (globally unique ``proj_...``) of the first page identify the organisation for the peer
        benchmark: two enterprises connecting one organisation list the same projects.

        Raises ``ProviderAuthError`` / ``ProviderPermissionError`` when the key cannot read usage at all. Lacking
        ``api.management.read`` is not fatal. OpenAI returns no org id to admin keys except, possibly, the
        ``openai-organization`` response header, which is used when present.
        """
        now = self._clock.now() if self._clock else datetime.now(UTC)
        since = int((now - timedelta(days=1)).timestamp())
        costs = await self._http.get_json("/v1/organization/costs", (("start_time", str(since)), ("limit", "1")))
        permissions = ["usage.read"]
        projects: tuple[str, ...] = ()
        try:
            listed = await self._http.get_json("/v1/organization/projects", (("limit", str(PROJECTS_LIMIT)),))
            permissions.append("management.read")
            projects = _project_ids(listed.body)
        except ProviderPermissionError:
            pass
        return OrgIdentity(
            provider=Provider.OPENAI,
            org_id=costs.headers.get("openai-organization") or None,
            org_name=None,
            permissions=tuple(permissions),
            projects=projects,
        )

    async def pull(self, start: date, end_exclusive: date, *, early: EarlyDays | None = None) -> ProviderPull:
        """Usage and costs for the UTC days ``[start, end_exclusive)``; a malformed day fails alone."""
        now = self._clock.now() if self._clock else datetime.now(UTC)
        return await pull_reports(self._http, _Dialect(), REPORTS, start, end_exclusive, now=now, early=early)
