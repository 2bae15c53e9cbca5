"""Peer benchmark reads over the ``api`` function, and the monthly aggregation job, on the Firestore emulator.

Three enterprises among 30 peers read ``/api/v1/benchmarks/current``: each sees its own position (the cheapest is
low, the dearest high), the population only as a band, and none of the disclosure rules' parameters.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from devstack.benchmark_seed import SeedEnterprise, part, seed
from devstack.tokens import mint_oidc_token, mint_user_token
from shared.bootstrap import build_web_app
from shared.config import get_settings
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT

MONTH = "2026-10"
READERS = {"ent_000": "low@cheap.example", "ent_015": "mid@middle.example", "ent_029": "high@dear.example"}
PARAMETER_NAMES = (
    "min_units",
    "tail_min_units",
    "dominance_cap",
    "p_percent",
    "noise_sd",
    "min_billed_usd",
    "min_domains",
    "noise_key",
    "settle",
)


def _peers() -> list[SeedEnterprise]:
    peers = []
    for i in range(30):
        billed = Decimal(1000) * (Decimal("0.5003") + Decimal("0.01") * i)
        eid = f"ent_{i:03d}"
        openai = part(str(billed), "1000", 100_000_000, 10_000_000, str(billed * Decimal("0.6")))
        peers.append(SeedEnterprise(eid, {"openai": openai}, admin_email=READERS.get(eid), index=Decimal("3.5")))
    return peers


def _aggregate(**extra: Any) -> ApiResponse:
    settings = get_settings()
    app = build_web_app("benchmarks_aggregate")
    token = mint_oidc_token(settings.scheduler_service_account, f"{settings.function_base_url}/benchmarks_aggregate")
    headers = Headers({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return app.handle(ApiRequest("POST", "/", headers, body=json.dumps({"month": MONTH, **extra}).encode()))


def _get(path: str, enterprise_id: str) -> ApiResponse:
    app = build_web_app("api")
    token = mint_user_token(READERS[enterprise_id], TEST_PROJECT)
    headers = Headers({"Authorization": f"Bearer {token}", "X-Enterprise-Id": enterprise_id})
    return app.handle(ApiRequest("GET", path, headers, {}, b""))


def test_three_enterprises_see_their_own_position_and_no_exact_count(firestore_db: Any) -> None:
    seed(firestore_db, MONTH, _peers())
    job = _aggregate()
    assert job.status == 200, job.body
    assert json.loads(job.body)["month"] == MONTH

    bodies = {}
    for enterprise_id in READERS:
        response = _get("/api/v1/benchmarks/current", enterprise_id)
        assert response.status == 200, response.body
        bodies[enterprise_id] = json.loads(response.body)
        text = response.body.decode()
        assert not any(name in text for name in PARAMETER_NAMES), text
        assert '"30"' not in text
        assert ": 30" not in text

    positions = {eid: body["your_position"]["metrics"]["price_ratio"] for eid, body in bodies.items()}
    for eid, body in bodies.items():
        assert body["month"] == MONTH
        assert body["enterprise_count_band"] == "20–49"
        assert positions[eid]["bucket_used"] in ("industry:technology", "all")
        assert body["market_index"] is None
        assert Decimal(body["your_price_coverage"]) == 1  # all of its billed spend has a list price: it took part
    low, mid, high = (positions[eid] for eid in READERS)
    # Ratios 0.50 (cheapest of all), 0.65 (the median) and 0.79 (dearest): lower is better.
    assert low["band"] in ("below p10", "at p10")
    assert high["band"] in ("above p90", "at p90")
    assert mid["percentile"] is not None
    assert 35 <= mid["percentile"] <= 65
    assert _get(f"/api/v1/benchmarks/{MONTH}", "ent_015").body == _get("/api/v1/benchmarks/current", "ent_015").body


def test_a_month_without_a_benchmark_is_not_available(firestore_db: Any) -> None:
    seed(firestore_db, MONTH, _peers()[:1])

    for path in ("/api/v1/benchmarks/current", "/api/v1/benchmarks/2026-09", "/api/v1/benchmarks/latest"):
        response = _get(path, "ent_000")
        assert (response.status, json.loads(response.body)["code"]) == (404, "benchmark_not_available")


def test_a_published_month_is_frozen_until_a_forced_re_run_with_a_reason(firestore_db: Any) -> None:
    """ADR 0019: the same inputs change nothing; changed inputs are refused with a problem detail; a forced re-run
    needs a reason and publishes version 2."""
    seed(firestore_db, MONTH, _peers())
    assert json.loads(_aggregate().body)["version"] == 1
    assert json.loads(_aggregate().body)["status"] == "unchanged"
    seed(firestore_db, MONTH, [SeedEnterprise("ent_late", {"openai": part("900", "1000", 10**8, 10**7, "540")})])

    refused = _aggregate()
    unexplained = _aggregate(force=True)
    forced = _aggregate(force=True, reason="a late sync of one enterprise")

    assert (refused.status, json.loads(refused.body)["code"]) == (409, "benchmark_month_frozen")
    assert unexplained.status == 400
    assert forced.status == 200, forced.body
    assert (json.loads(forced.body)["status"], json.loads(forced.body)["version"]) == ("published", 2)
    assert json.loads(_get(f"/api/v1/benchmarks/{MONTH}", "ent_015").body)["version"] == 2
