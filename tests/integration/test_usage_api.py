"""The usage read routes through the ``api`` application, on the Firestore emulator, snapshots written by the adapter.

Each stored day is ``openai_day`` + ``anthropic_day`` of ``tests.support.usage_days``: $15.10 billed, $18.50 list.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from devstack.tokens import mint_user_token, uid_for_email
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_snapshots import FirestoreSnapshots
from shared.adapters.identity import FirebaseUserVerifier
from shared.bootstrap import SystemClock, build_web_app
from shared.config import get_settings
from shared.domain.enterprise.model import Enterprise, Member, Role
from shared.domain.usage.month import UsageMonth, rollup_month
from shared.domain.usage.snapshot import UsageSnapshot, build_snapshot
from shared.domain.usage.snapshot_parts import provider_part
from shared.domain.usage.view import months_of, usage_report
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.usage_days import anthropic_day, openai_day

EID, VIEWER = "ent_acme", "victor@acme.example"
NOW = datetime(2026, 2, 15, tzinfo=UTC)


class CountingSnapshots(FirestoreSnapshots):
    """Counts documents read as Firestore bills them: one per rollup asked (found or not), one per snapshot returned
    (at least one per query)."""

    reads = 0

    def days(self, enterprise_id: str, months: Sequence[str]) -> dict[date, UsageSnapshot]:
        found: dict[date, UsageSnapshot] = {}
        for month in months:
            got = super().days(enterprise_id, [month])
            self.reads += max(1, len(got))
            found.update(got)
        return found

    def month(self, enterprise_id: str, month: str) -> UsageMonth | None:
        self.reads += 1
        return super().month(enterprise_id, month)

    def rollups(self, enterprise_id: str, months: Sequence[str]) -> dict[str, UsageMonth]:
        self.reads += len(set(months))
        return super().rollups(enterprise_id, months)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def snap(day: date) -> UsageSnapshot:
    parts = {p.provider.value: provider_part(p, "0.2.3", {"cache": Decimal("1.5")}) for p in (openai_day(day),)}
    parts["anthropic"] = provider_part(anthropic_day(day), "0.2.3", {"batch": Decimal("2.25")})
    return build_snapshot(day, parts, index=None, retention_months=24)


@pytest.fixture
def store(firestore_db: Any) -> CountingSnapshots:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    uid = uid_for_email(VIEWER)
    FirestoreEnterprises(firestore_db).create(
        Enterprise(
            id=EID,
            name="Acme",
            created_at=t0,
            updated_at=t0,
            created_by=uid,
            members={uid: Member(email=VIEWER, role=Role.VIEWER, added_at=t0)},
            member_uids=[uid],
        )
    )
    snapshots = CountingSnapshots(firestore_db)
    days = [snap(date(2025, m, d)) for m in range(1, 13) for d in (3, 17)]
    months = [rollup_month(f"2025-{m:02d}", days, retention_months=24) for m in range(1, 13)]
    snapshots.save(EID, days, [m for m in months if m is not None], synced_at=NOW)
    snapshots.reads = 0
    return snapshots


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def app(store: CountingSnapshots, clock: FixedClock) -> WebApp:
    # Tokens are minted now: only the usage services see the fixed clock.
    users = FirebaseUserVerifier(get_settings(), SystemClock())
    return build_web_app("api", snapshots=store, clock=clock, users=users)


def get(app: WebApp, path: str, **query: str) -> ApiResponse:
    headers = {"Authorization": f"Bearer {mint_user_token(VIEWER, TEST_PROJECT)}", "X-Enterprise-Id": EID}
    return app.handle(ApiRequest("GET", path, Headers(headers), {k: [v] for k, v in query.items()}))


def test_a_12_month_range_reads_at_most_14_documents(app: WebApp, store: CountingSnapshots) -> None:
    response = get(app, "/api/v1/enterprise/usage", start="2024-12-20", end="2026-01-10")

    assert response.status == 200, response.body
    body = json.loads(response.body)
    assert store.reads == 14  # one rollup per month touched, Dec 2024 and Jan 2026 (no usage) included
    assert body["totals"]["total_cost_usd"] == "362.40"  # 24 days x $15.10, a string
    assert len(body["by_day"]) == 24
    assert body["benchmark"]["your_discount"] == "0.2000000000"


def test_a_provider_filter_over_partial_months_keeps_that_providers_days(app: WebApp) -> None:
    body = json.loads(
        get(app, "/api/v1/enterprise/usage", start="2025-03-10", end="2025-05-05", provider="openai").body
    )
    assert body["totals"]["total_cost_usd"] == "17.20"  # Mar 17, Apr 3, Apr 17, May 3 x $4.30
    assert [d["date"] for d in body["by_day"]] == ["2025-03-17", "2025-04-03", "2025-04-17", "2025-05-03"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"start": "2025-13-01", "end": "2025-12-31"}, "validation_failed"),
        ({"start": "2025-02-01", "end": "2025-01-31"}, "invalid_date_range"),
        ({"start": "2023-01-01", "end": "2025-12-31"}, "date_range_too_long"),
        ({"start": "2025-01-01", "end": "2025-01-31", "colour": "red"}, "validation_failed"),
        ({"start": "2025-01-01", "end": "2025-01-31", "provider": "mistral"}, "validation_failed"),
        ({"end": "2025-01-31"}, "validation_failed"),
    ],
)
def test_bad_queries_are_400_problems_with_stable_codes(app: WebApp, query: dict[str, str], code: str) -> None:
    response = get(app, "/api/v1/enterprise/usage", **query)
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert json.loads(response.body)["code"] == code


def test_the_csv_parses_back_and_its_billed_cost_adds_up_to_the_total(app: WebApp) -> None:
    response = get(app, "/api/v1/enterprise/usage.csv", start="2025-01-01", end="2025-01-31")

    assert response.status == 200
    assert response.content_type.startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert sum(Decimal(r["BilledCost"] or 0) for r in rows) == Decimal("30.20")  # 2 days x $15.10
    tokens = {(r["ChargePeriodStart"][:10], r["SkuId"]): int(r["ConsumedQuantity"]) for r in rows if r["ConsumedUnit"]}
    assert tokens[("2025-01-03", "gpt-4o/input_cache_read")] == 400_000
    assert tokens[("2025-01-17", "claude-sonnet-4-5/input_uncached")] == 3_000_000  # incl. 1M Priority Tier
    assert {r["BillingCurrency"] for r in rows} == {"USD"}


def test_recommendations_are_last_months_savings_largest_first(app: WebApp, clock: FixedClock) -> None:
    body = json.loads(get(app, "/api/v1/enterprise/recommendations").body)
    assert body["month"] == "2026-01"  # NOW is mid-February 2026
    assert body["has_data"] is False

    clock.at = datetime(2026, 1, 5, tzinfo=UTC)
    body = json.loads(get(app, "/api/v1/enterprise/recommendations").body)
    assert body["month"] == "2025-12"
    assert body["recommendations"] == [
        {"kind": "batch", "savings_usd": "4.50"},  # 2 days x $2.25
        {"kind": "cache", "savings_usd": "3.0"},  # 2 days x $1.5
    ]
    assert body["potential_savings_usd"] == "7.50"


def from_snapshots(store: FirestoreSnapshots, start: date, end: date, **filters: str) -> dict[str, Any]:
    """The report computed the other way: from every daily snapshot of the range."""
    every_day = store.days(EID, months_of(start, end)).values()
    report = usage_report(start, end, [], every_day, provider=filters.get("provider"), model=filters.get("model"))
    return dict(json.loads(report.model_dump_json()))


@pytest.mark.parametrize(
    ("start", "end", "filters", "reads"),
    [
        ("2025-01-15", "2026-01-14", {}, 13),  # a rolling year: 11 whole months, two partial ones
        ("2025-01-15", "2026-01-14", {"provider": "anthropic"}, 13),
        ("2025-01-15", "2026-01-14", {"model": "gpt-4o"}, 13),
        ("2025-03-04", "2025-03-20", {"provider": "openai", "model": "gpt-4o"}, 1),
        ("2024-02-10", "2026-02-09", {}, 25),  # the longest range: 24 months over 25 calendar months
    ],
)
def test_any_range_and_filter_reads_one_rollup_per_month_and_equals_the_snapshots(
    app: WebApp, store: CountingSnapshots, start: str, end: str, filters: dict[str, str], reads: int
) -> None:
    response = get(app, "/api/v1/enterprise/usage", start=start, end=end, **filters)

    assert response.status == 200, response.body
    assert store.reads == reads
    body = json.loads(response.body)
    forecast = body.pop("forecast")
    expected = from_snapshots(store, date.fromisoformat(start), date.fromisoformat(end), **filters)
    assert expected.pop("forecast") is None
    assert body == expected
    # Only a range reaching into this month (February 2026) forecasts it, from the rollups already read.
    assert (forecast is not None) == (end >= "2026-02-01")
    assert forecast is None or forecast["month"] == "2026-02"
    assert Decimal(body["totals"]["total_cost_usd"]) > 0
    assert body["by_day"]
    assert all(start <= d["date"] <= end for d in body["by_day"])


def test_a_rolling_year_shows_the_edge_days_projects_and_rates(app: WebApp) -> None:
    body = json.loads(get(app, "/api/v1/enterprise/usage", start="2025-01-15", end="2026-01-14").body)

    assert body["totals"]["total_cost_usd"] == "347.30"  # 23 days (Jan 17 .. Dec 17) x $15.10
    assert body["by_day"][0]["date"] == "2025-01-17"
    assert [p["key"] for p in body["by_project"]] == ["anthropic:(default)", "openai:proj_a"]
    assert body["by_project"][0]["cost_usd"] == "248.40"  # 23 x $10.80
    assert body["effective_rates"]["blended"] is not None


def test_a_rollup_written_before_daily_detail_is_served_from_its_snapshots(
    app: WebApp, store: CountingSnapshots, firestore_db: Any
) -> None:
    legacy = firestore_db.document(f"enterprises/{EID}/usage_months/2025-01")
    old = legacy.get().to_dict()
    for field in ("daily", "daily_version", "index_level_sum", "index_level_days"):
        old.pop(field)
    legacy.set(old)

    partial = get(app, "/api/v1/enterprise/usage", start="2025-01-15", end="2025-03-31")
    assert store.reads == 3 + 2  # three rollups, and the two snapshots of January
    body = json.loads(partial.body)
    assert body == from_snapshots(store, date(2025, 1, 15), date(2025, 3, 31))
    assert body["totals"]["total_cost_usd"] == "75.50"  # Jan 17, and two days in February and March each

    store.reads = 0
    whole = json.loads(get(app, "/api/v1/enterprise/usage", start="2025-01-01", end="2025-03-31").body)
    assert store.reads == 3  # a whole unfiltered month is still served by the old rollup's sums
    assert whole["totals"]["total_cost_usd"] == "90.60"
