"""``GET /api/v1/indices/latest`` through the real api application, with a behaving fake index store."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from devstack.tokens import mint_user_token
from shared.bootstrap import build_web_app
from shared.domain.peers.market_index import index_for_day
from shared.web.app import WebApp
from shared.web.http import ApiRequest, Headers
from tests.conftest import TEST_PROJECT
from tests.support.fake_indices import FakeIndexStore
from tests.support.fakes import FakeEnterpriseStore, FixedClock


@pytest.fixture
def indices() -> FakeIndexStore:
    return FakeIndexStore(FixedClock(datetime(2026, 11, 3, 6, 0, tzinfo=UTC)))


@pytest.fixture
def app(indices: FakeIndexStore) -> WebApp:
    return build_web_app("api", enterprises=FakeEnterpriseStore(), indices=indices)


def get_latest(app: WebApp, token: str | None) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = app.handle(ApiRequest("GET", "/api/v1/indices/latest", Headers(headers), {}, b""))
    return response.status, json.loads(response.body)


def test_signed_in_user_reads_the_newest_published_levels(app: WebApp, indices: FakeIndexStore) -> None:
    indices.put(index_for_day(date(2026, 11, 1)))
    indices.put(index_for_day(date(2026, 11, 2)))
    status, body = get_latest(app, mint_user_token("alice@example.com", TEST_PROJECT))
    assert status == 200
    assert body["day"] == "2026-11-02"
    levels = body["levels"]
    assert isinstance(levels, dict)
    frontier = levels["STCI-FRONTIER"]
    assert (frontier["status"], frontier["blended"], frontier["p_in"]) == ("published", "13.833333", "6.916667")
    assert {m["model"] for m in frontier["models"]} == {"gpt-6-astra", "claude-fable-5-1", "gemini-3.8-flash"}
    assert "flagship" in frontier["definition"]
    assert levels["STCI-EFFICIENT"]["blended"] == "1.016667"
    assert len(str(body["inputs_sha256"])) == 64


def test_no_recent_index_is_a_404_with_a_stable_code(app: WebApp) -> None:
    status, body = get_latest(app, mint_user_token("alice@example.com", TEST_PROJECT))
    assert (status, body["code"]) == (404, "index_not_available")


def test_the_index_needs_a_signed_in_user(app: WebApp, indices: FakeIndexStore) -> None:
    indices.put(index_for_day(date(2026, 11, 2)))
    status, body = get_latest(app, None)
    assert (status, body["code"]) == (401, "missing_token")
