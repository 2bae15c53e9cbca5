"""In-process provider responses for client unit tests: an ``httpx.MockTransport`` routed by path.

Each route is a function of the request returning a response; every request is recorded so tests can assert on
what was asked (query, headers) and how many times. Sleeps are recorded instead of slept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from shared.adapters.provider_http import RetryPolicy

Route = Callable[[httpx.Request], httpx.Response]

FAST_POLICY = RetryPolicy(
    max_retries=3, backoff_base_s=0.5, backoff_max_s=8.0, connect_timeout_s=2.0, read_timeout_s=7.0, concurrency=4
)


def json_response(text: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    """A response whose body is exactly ``text`` (numbers stay numbers, strings stay strings)."""
    return httpx.Response(
        status, content=text.encode(), headers={"content-type": "application/json", **(headers or {})}
    )


def dumps(body: Any) -> str:
    return json.dumps(body)


@dataclass
class MockProvider:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(request.url.path)
        if route is None:
            return json_response(dumps({"error": {"message": "no such route", "type": "not_found"}}), 404)
        return route(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def empty_openai_page(request: httpx.Request) -> httpx.Response:
    """One empty daily bucket per requested day, in one page (OpenAI shape)."""
    start = int(request.url.params["start_time"])
    end = int(request.url.params["end_time"])
    buckets = [
        {"object": "bucket", "start_time": t, "end_time": t + 86400, "results": []} for t in range(start, end, 86400)
    ]
    return json_response(dumps({"object": "page", "data": buckets, "has_more": False, "next_page": None}))


def epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def day_range(start: date, end_exclusive: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end_exclusive - start).days)]
