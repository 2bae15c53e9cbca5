"""Sybils on the local stack (``make run``): ten enterprises, run by admins of ten different verified domains, all
connect the same OpenAI organisation and opt in to the peer benchmark. The organisation is identified when it is
connected, so the ten count as one unit and no bucket is published (ADR 0019).

Runs after the package's other modules (file order): its enterprises have email reports off and no budgets, so they
change nothing the others assert.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devstack.provider_sim.demo import admin_key
from devstack.tokens import mint_oidc_token, mint_user_token
from shared.domain.sync.backfill import backfill_span
from tests.e2e.demo_stack import BACKFILL_DAYS
from tests.support.local_stack import RunningStack

pytestmark = pytest.mark.e2e

TODAY = datetime.now(UTC).date()
LAST_MONTH_END = TODAY.replace(day=1) - timedelta(days=1)
MONTH_END = LAST_MONTH_END.replace(day=1) - timedelta(days=1)
MONTH = MONTH_END.strftime("%Y-%m")
"""The month before last: always settled, and partly or wholly inside the backfill."""
BACKFILLED_DAYS = (MONTH_END - max(MONTH_END.replace(day=1), backfill_span(TODAY, BACKFILL_DAYS).start)).days + 1
ADMINS = [f"admin{i}@sybil-{i}.example" for i in range(10)]
ORG = "org-demo-globex"


def _headers(stack: RunningStack, email: str, enterprise_id: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {mint_user_token(email, stack.info['project_id'])}"}
    return {**headers, "X-Enterprise-Id": enterprise_id} if enterprise_id else headers


def _wait(predicate: Callable[[], bool], what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(5)


def _enterprise(client: httpx.Client, stack: RunningStack, email: str) -> str:
    created = client.post(
        "/api/v1/enterprises",
        json={"name": f"Sybil {email}", "industry": "healthcare"},
        headers={**_headers(stack, email), "Idempotency-Key": f"sybil-{email}"},
    )
    assert created.status_code in (200, 201), created.text
    enterprise_id: str = created.json()["id"]
    headers = _headers(stack, email, enterprise_id)
    settings = {"share_anonymous_benchmarks": True, "email_reports": False}
    assert client.patch("/api/v1/enterprise", json={"settings": settings}, headers=headers).status_code == 200
    connected = client.post(
        "/api/v1/enterprise/connect/openai", json={"admin_api_key": admin_key("openai", ORG)}, headers=headers
    )
    assert connected.status_code in (200, 201), connected.text
    return enterprise_id


def _backfilled(client: httpx.Client, stack: RunningStack, email: str, enterprise_id: str) -> bool:
    usage = client.get(
        "/api/v1/enterprise/usage",
        params={"start": MONTH_END.replace(day=1).isoformat(), "end": MONTH_END.isoformat()},
        headers=_headers(stack, email, enterprise_id),
    )
    if usage.status_code >= 500:  # the stack is busy with forty backfill tasks: ask again later
        return False
    assert usage.status_code == 200, usage.text
    return len(usage.json()["by_day"]) >= BACKFILLED_DAYS


def _aggregate(stack: RunningStack) -> dict[str, Any]:
    base = stack.info.get("function_base_url") or stack.info["api_base_url"]
    token = mint_oidc_token(stack.info["scheduler_service_account"], f"{base}/benchmarks_aggregate")
    response = httpx.post(
        stack.info["functions"]["benchmarks_aggregate"],
        json={"month": MONTH},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_ten_enterprises_connecting_one_organisation_never_publish_a_bucket(stack: RunningStack) -> None:
    with httpx.Client(base_url=stack.api, timeout=60) as client:
        ids = {email: _enterprise(client, stack, email) for email in ADMINS}
        _wait(lambda: all(_backfilled(client, stack, e, ids[e]) for e in ADMINS), f"the backfills of {MONTH}")

    result = _aggregate(stack)

    assert result["status"] == "published"
    assert result["participants"] >= 10
    assert 1 <= result["units"] <= result["participants"] - 9  # the ten count once (and do count: identified)
    with httpx.Client(base_url=stack.api, timeout=60) as client:
        email = ADMINS[0]
        benchmark = client.get(f"/api/v1/benchmarks/{MONTH}", headers=_headers(stack, email, ids[email]))
    assert benchmark.status_code == 200, benchmark.text
    buckets = benchmark.json()["buckets"]
    assert buckets
    assert all(bucket["status"] == "insufficient_peers" for bucket in buckets.values()), buckets
