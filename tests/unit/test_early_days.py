"""Days built early (``shared.ports.EarlyDays``): while the small reports' responses are still out, an OpenAI pull
builds its days from the large ones; the late reports keep a day only when they add nothing to it, and the sync
takes the parts it computed for a day meanwhile only for that very day.

The late reports are held by the in-process server until the early days were handed over, so the order is the one
the sync bench sees (completions and costs first, the meter reports a round later) on every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.adapters.openai_admin import OpenAIAdmin
from shared.domain.usage.records import DayStatus, ProviderDay, ProviderPull
from shared.services.sync.provider_parts import prepare_early, prepare_pull
from tests.support.provider_mock import FAST_POLICY, dumps, epoch, json_response

pytestmark = pytest.mark.anyio

KEY = "sk-admin-early-0123456789abcdef"
START, END = date(2026, 10, 1), date(2026, 10, 11)
DAY_S = 86400
USAGE = "/v1/organization/usage/"
LARGE = ("/v1/organization/usage/completions", "/v1/organization/costs")
WEB_SEARCH_DAY = date(2026, 10, 4)

Rows = Callable[[str, int], list[dict[str, Any]]]


def rows(path: str, t: int) -> list[dict[str, Any]]:
    """Completions and costs every day; the meter reports empty."""
    if path.endswith("/completions"):
        return [{"input_tokens": 1000, "output_tokens": 100, "num_model_requests": 1, "model": "gpt-4o-mini"}]
    if path.endswith("/costs"):
        return [{"amount": {"value": "0.01", "currency": "usd"}, "line_item": "gpt-4o-mini, input"}]
    return []


def with_web_search(path: str, t: int) -> list[dict[str, Any]]:
    if path.endswith("/web_search_calls") and t == epoch(WEB_SEARCH_DAY):
        return [{"num_model_requests": 3, "num_requests": 3, "model": "gpt-4o-mini"}]
    return rows(path, t)


def with_broken_web_search(path: str, t: int) -> list[dict[str, Any]]:
    if path.endswith("/web_search_calls") and t == epoch(WEB_SEARCH_DAY):
        return [{"num_model_requests": "three"}]
    return rows(path, t)


class Held:
    """An OpenAI-shaped server that answers the meter reports only once ``release`` is set."""

    def __init__(self, rows_for: Rows) -> None:
        self.rows_for = rows_for
        self.release = asyncio.Event()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        if path not in LARGE:
            await self.release.wait()
        start = int(params["start_time"])
        end = int(params.get("end_time", start + (END - START).days * DAY_S))
        buckets = [
            {"object": "bucket", "start_time": t, "end_time": t + DAY_S, "results": self.rows_for(path, t)}
            for t in range(start, end, DAY_S)
        ]
        return json_response(dumps({"object": "page", "data": buckets, "has_more": False, "next_page": None}))


async def pull(rows_for: Rows, *, early: bool) -> tuple[ProviderPull, list[Mapping[date, ProviderDay]]]:
    server = Held(rows_for)
    told: list[Mapping[date, ProviderDay]] = []

    def built_early(days: Mapping[date, ProviderDay]) -> None:
        told.append(days)
        server.release.set()

    if not early:
        server.release.set()
    async with httpx.AsyncClient(transport=httpx.MockTransport(server.handle)) as http:
        client = OpenAIAdmin(SecretStr(KEY), base_url="https://api.test", http=http, policy=FAST_POLICY)
        result = await client.pull(START, END, early=built_early if early else None)
    return result, told


async def test_days_the_late_reports_leave_empty_are_the_days_built_early() -> None:
    result, told = await pull(rows, early=True)
    assert len(told) == 1
    early = told[0]
    assert sorted(early) == sorted(result.days)
    assert all(result.days[d] is early[d] for d in result.days)
    # The same pull as one that builds nothing early.
    plain, _ = await pull(rows, early=False)
    assert result.days == plain.days


async def test_a_day_a_late_report_adds_to_is_built_again_with_it() -> None:
    result, [early] = await pull(with_web_search, early=True)
    rebuilt = result.days[WEB_SEARCH_DAY]
    assert rebuilt is not early[WEB_SEARCH_DAY]
    assert [m.quantity for m in rebuilt.meters if m.meter == "num_requests"] == [3]
    assert not [m for m in early[WEB_SEARCH_DAY].meters if m.meter == "num_requests"]
    assert all(result.days[d] is early[d] for d in result.days if d != WEB_SEARCH_DAY)
    plain, _ = await pull(with_web_search, early=False)
    assert result.days == plain.days


async def test_a_day_a_late_report_breaks_fails_though_it_was_good_early() -> None:
    result, [early] = await pull(with_broken_web_search, early=True)
    assert early[WEB_SEARCH_DAY].status is DayStatus.OK
    assert result.days[WEB_SEARCH_DAY].status is DayStatus.FAILED
    assert result.failed_days == (WEB_SEARCH_DAY,)


async def test_the_sync_reuses_the_parts_of_days_built_early_only_for_those_very_days_and_prices() -> None:
    result, [early] = await pull(with_web_search, early=True)
    window = sorted(result.days)
    ahead = prepare_early(early, window, result.price_data_version)
    final = prepare_pull(result, window, early=ahead)
    assert final == prepare_pull(result, window)
    assert all(final.parts[d] is ahead.prepared.parts[d] for d in window if d != WEB_SEARCH_DAY)
    assert final.parts[WEB_SEARCH_DAY] is not ahead.prepared.parts[WEB_SEARCH_DAY]
    # Parts priced with other price data are never taken.
    repriced = prepare_early(early, window, "another-price-data")
    assert not any(prepare_pull(result, window, early=repriced).parts[d] is repriced.prepared.parts[d] for d in window)
