"""Paging and failure isolation of the report clients, on an in-process OpenAI-shaped server."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.adapters.openai_admin import COSTS_PAGE_LIMIT, USAGE_PAGE_LIMIT, OpenAIAdmin
from shared.domain.usage.records import DayStatus, ProviderPull
from tests.support.provider_mock import FAST_POLICY, MockProvider, day_range, dumps, epoch, json_response

pytestmark = pytest.mark.anyio

KEY = "sk-admin-paging-0123456789abcdef"
START, END = date(2026, 7, 1), date(2026, 9, 1)  # 62 days
DAY_S = 86400
COMPLETIONS = "/v1/organization/usage/completions"
COSTS = "/v1/organization/costs"

Rows = Callable[[int], list[dict[str, Any]]]


def paged(rows_for: Rows, *, broken_page_if: Callable[[int, int], bool] = lambda s, e: False) -> Any:
    """A route serving one bucket per day, ``limit`` per page, cursor = next bucket start (opaque to clients)."""

    def route(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start, end, limit = int(params["start_time"]), int(params["end_time"]), int(params["limit"])
        first = int(params.get("page", start))
        if broken_page_if(first, end):
            return httpx.Response(200, content=b'{"object": "page", "data": [{"object": "bucket", "start_ti')
        starts = list(range(first, end, DAY_S))[:limit]
        buckets = [{"object": "bucket", "start_time": t, "end_time": t + DAY_S, "results": rows_for(t)} for t in starts]
        following = starts[-1] + DAY_S if starts else end
        more = following < end
        body = {"object": "page", "data": buckets, "has_more": more, "next_page": str(following) if more else None}
        return json_response(dumps(body))

    return route


def completions_rows(t: int) -> list[dict[str, Any]]:
    return [{"input_tokens": 1000, "output_tokens": 100, "num_model_requests": 1, "model": "gpt-4o-mini"}]


def cost_rows(t: int) -> list[dict[str, Any]]:
    return [{"amount": {"value": "0.01", "currency": "usd"}, "line_item": "gpt-4o-mini, input"}]


def no_rows(t: int) -> list[dict[str, Any]]:
    return []


def server(completions: Any, costs: Any) -> MockProvider:
    mock = MockProvider(routes={COMPLETIONS: completions, COSTS: costs})
    for report in (
        "embeddings",
        "moderations",
        "images",
        "audio_speeches",
        "audio_transcriptions",
        "vector_stores",
        "code_interpreter_sessions",
        "file_search_calls",
        "web_search_calls",
    ):
        mock.routes[f"/v1/organization/usage/{report}"] = paged(no_rows)
    return mock


async def pull(mock: MockProvider) -> ProviderPull:
    async with mock.client() as http:
        client = OpenAIAdmin(SecretStr(KEY), base_url="https://api.test", http=http, policy=FAST_POLICY)
        return await client.pull(START, END)


async def test_every_page_is_followed_with_the_fewest_requests() -> None:
    mock = server(paged(completions_rows), paged(cost_rows))
    result = await pull(mock)
    days = (END - START).days
    # 10 usage reports × ceil(62 / 31) pages + costs ceil(62 / 180) page = 20 + 1.
    assert len(mock.requests) == 10 * math.ceil(days / USAGE_PAGE_LIMIT) + math.ceil(days / COSTS_PAGE_LIMIT)
    assert all(d.status is DayStatus.OK for d in result.days.values())
    assert all(d.totals.input_tokens == 1000 for d in result.days.values())
    assert mock.paths().count(COMPLETIONS) == 2


async def test_the_largest_reports_are_asked_first_so_their_parsing_overlaps_the_wait_for_the_rest() -> None:
    mock = server(paged(completions_rows), paged(cost_rows))
    result = await pull(mock)
    # Completions and costs carry the pull's largest pages: they are asked before the nine smaller reports (the
    # client sends at most 4 at a time here), so their parsing is not left after the last response.
    assert mock.paths()[:2] == [COMPLETIONS, COSTS]
    # What the pull returns does not depend on the order asked: each day holds every report's part.
    day = result.days[START]
    assert (day.totals.input_tokens, day.billed_usd) == (1000, Decimal("0.01"))


async def test_a_malformed_bucket_fails_only_its_day() -> None:
    bad = epoch(date(2026, 8, 15))

    def costs(t: int) -> list[dict[str, Any]]:
        return [{"amount": {"value": "twelve", "currency": "usd"}}] if t == bad else cost_rows(t)

    result = await pull(server(paged(completions_rows), paged(costs)))
    assert result.failed_days == (date(2026, 8, 15),)
    failed = result.days[date(2026, 8, 15)]
    assert (failed.error_code, failed.records) == ("provider_malformed_response", ())
    assert result.days[date(2026, 8, 14)].billed_usd == Decimal("0.01")


async def test_an_unusable_page_is_re_requested_day_by_day_so_only_the_bad_day_fails() -> None:
    bad = epoch(date(2026, 7, 20))
    mock = server(paged(completions_rows, broken_page_if=lambda first, end: first <= bad < end), paged(cost_rows))
    result = await pull(mock)
    assert result.failed_days == (date(2026, 7, 20),)
    ok = [d for d in day_range(START, END) if d != date(2026, 7, 20)]
    assert all(result.days[d].totals.input_tokens == 1000 for d in ok)
    # The first page (Jul 1-31) was unusable: its 31 days are re-asked one by one, then Aug is paged afresh.
    assert mock.paths().count(COMPLETIONS) == 1 + 31 + 1
    assert any("unusable" in page["body"] for page in result.raw_pages if isinstance(page["body"], dict))
