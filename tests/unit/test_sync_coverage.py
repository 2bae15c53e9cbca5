"""Usage history is never silently lost: lost windows and late costs are recorded, shown and repaired (issue #16).

With behaving fakes of every port: a backfill window whose task exhausts its retries (Cloud Tasks stops after
``max_attempts``) is recorded missing, admins learn of it once, and the next daily run's repair pulls it again; a day
pulled before its cost arrived is pending, and a later repair settles it.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.bootstrap import build_web_app
from shared.domain.enterprise.model import ProviderName
from shared.domain.sync.coverage import DayState
from shared.domain.usage.records import Provider, ProviderDay, TokenType
from shared.errors import ProviderUnavailable
from shared.reports.render import CHARTS, render_html
from shared.services.reports.monthly_report import build_monthly_report
from shared.services.sync.sync_report import Outcome
from shared.web.http import ApiResponse
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID, VIEWER_EMAIL
from tests.support.fake_reports import FakeBenchmarkStore
from tests.support.sync_world import SyncWorld
from tests.support.usage_days import openai_day, record
from tests.unit.test_budgets_api import body_of, call

OPENAI = ProviderName.OPENAI
OCTOBER = [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]
BACKFILL = {
    "enterprise_id": ENTERPRISE_ID,
    "providers": ["openai"],
    "start": "2026-10-01",
    "end": "2026-11-01",
    "reason": "backfill",
}


def daily(start: date) -> dict[str, object]:
    return {
        "enterprise_id": ENTERPRISE_ID,
        "start": start.isoformat(),
        "end": (start + timedelta(days=3)).isoformat(),
        "reason": "daily",
    }


def api(world: SyncWorld, path: str, **query: str) -> ApiResponse:
    """``GET path`` on the api function over the world's fakes, as a member."""
    app = build_web_app(
        "api", enterprises=world.enterprises, coverage=world.coverage, snapshots=world.snapshots, clock=world.clock
    )
    response = call(app, "GET", path, VIEWER_EMAIL, **query)
    assert response.status == 200
    return response


def sync_health(world: SyncWorld) -> dict[str, Any]:
    """``providers.<p>.sync_health`` of ``GET /api/v1/enterprise``."""
    return {name: p["sync_health"] for name, p in body_of(api(world, "/api/v1/enterprise"))["providers"].items()}


def run_repairs(world: SyncWorld) -> int:
    repairs = [t for t in world.tasks.tasks(world.settings.sync_queue) if t.payload["reason"] == "repair"]
    for task in repairs:
        world.run(task.payload, read_id=task.name)
    return len(repairs)


def test_a_window_whose_task_exhausted_its_retries_is_recorded_reported_and_repaired_by_the_next_daily_run() -> None:
    world = SyncWorld()
    world.sources.errors[Provider.OPENAI] = ProviderUnavailable("openai returned 503", provider="openai")

    first = world.run(BACKFILL)
    assert first.retry  # not the last attempt: Cloud Tasks retries with backoff
    assert world.coverage.records == {}

    last = world.run(BACKFILL, last_attempt=True)
    assert not last.retry  # nothing will retry it: recorded and acknowledged
    assert last.providers["openai"].outcome is Outcome.MISSING
    coverage = world.coverage.records[(ENTERPRISE_ID, OPENAI)]
    assert {coverage.state(d) for d in OCTOBER} == {DayState.MISSING}
    assert coverage.failing_since == world.clock.now()
    (alert,) = world.mailer.sent
    assert alert["To"] == ADMIN_EMAIL
    assert "31 day(s), 2026-10-01 to 2026-10-31" in alert.get_content()
    world.run(BACKFILL, last_attempt=True)  # the same failure again: no second email in one episode
    assert len(world.mailer.sent) == 1
    usage = body_of(api(world, "/api/v1/enterprise/usage", start="2026-10-01", end="2026-10-31"))
    assert usage["coverage"][0]["missing_days"] == [d.isoformat() for d in OCTOBER]
    assert any("could not be synced" in note for note in usage["notes"])
    csv_text = api(world, "/api/v1/enterprise/usage.csv", start="2026-10-30", end="2026-10-31").body.decode()
    missing_rows = [row for row in csv.DictReader(io.StringIO(csv_text)) if row["SkuId"] == "(missing)/cost"]
    assert len(missing_rows) == 2  # one per missing day, with empty costs: never $0
    assert all((row["BilledCost"], row["ListCost"]) == ("", "") for row in missing_rows)
    enterprise = world.enterprises.docs[ENTERPRISE_ID]
    coverage = world.coverage.all(ENTERPRISE_ID)
    report = build_monthly_report(
        world.snapshots, FakeBenchmarkStore(), world.clock, enterprise, "2026-10", coverage=coverage
    )
    assert any("31 day(s) could not be synced" in note for note in report.sync_notes)  # the monthly report says so
    html = render_html(report, settings_url=world.settings.site_settings_url, images=dict.fromkeys(CHARTS, "cid:x"))
    assert "31 day(s) could not be synced" in html  # as the email shows it
    health = sync_health(world)["openai"]
    assert (health["status"], len(health["missing_days"]), health["last_failure_code"]) == (
        "failing",
        31,
        "provider_unavailable",
    )

    del world.sources.errors[Provider.OPENAI]  # the provider is back
    for day in OCTOBER:
        world.sources.serve(openai_day(day))
    world.clock.set(world.clock.now().replace(month=11, day=23))
    world.run(daily(date(2026, 11, 20)))
    assert run_repairs(world) == 1

    coverage = world.coverage.records[(ENTERPRISE_ID, OPENAI)]
    assert (coverage.missing, coverage.failing_since) == ({}, None)
    month = world.snapshots.month(ENTERPRISE_ID, "2026-10")
    assert month is not None
    assert month.days == 31  # every lost day is back, none reads as $0
    assert sync_health(world)["openai"]["status"] == "ok"


def pending_day(day: date) -> ProviderDay:
    """The same usage as ``openai_day`` before the provider's cost report has the day (cost lags usage)."""
    p = Provider.OPENAI
    return ProviderDay(
        provider=p,
        day=day,
        records=(
            record(p, day, "gpt-4o", TokenType.UNCACHED_INPUT, 1_000_000, "2.50"),
            record(p, day, "gpt-4o", TokenType.OUTPUT, 200_000, "10"),
        ),
        cost_pending=True,
    )


def test_a_day_pulled_before_its_cost_arrived_is_pending_then_settles() -> None:
    world = SyncWorld()
    day = date(2026, 11, 20)
    world.sources.serve(pending_day(day))
    world.run(daily(day))
    snapshot = world.snapshots.day(ENTERPRISE_ID, day)
    assert snapshot is not None
    assert snapshot.by_provider["openai"].pending_days == 1
    assert snapshot.benchmark.discount_vs_list is None  # no bill yet: no discount, not a 100 % one
    assert world.coverage.records[(ENTERPRISE_ID, OPENAI)].state(day) is DayState.PENDING

    # Five days later the daily window no longer covers the day; its cost arrived meanwhile.
    world.clock.advance(timedelta(days=5))
    world.sources.serve(openai_day(day))
    world.run(daily(date(2026, 11, 25)))
    assert run_repairs(world) == 1

    snapshot = world.snapshots.day(ENTERPRISE_ID, day)
    assert snapshot is not None
    assert snapshot.by_provider["openai"].pending_days == 0
    assert snapshot.by_provider["openai"].tally.cost_usd == Decimal("4.30")  # openai_day's bill
    assert world.coverage.records[(ENTERPRISE_ID, OPENAI)].state(day) is DayState.SETTLED


def test_on_the_last_attempt_a_window_that_could_not_be_stored_is_recorded_missing_not_dropped() -> None:
    world = SyncWorld()
    for day in OCTOBER:
        world.sources.serve(openai_day(day))
    # Another sync of the enterprise holds its snapshots for longer than this one may wait.
    world.leases.acquire(ENTERPRISE_ID, "snapshots", holder="other", now=world.clock.now(), ttl=timedelta(hours=1))
    report = world.run(BACKFILL, last_attempt=True)
    assert not report.retry
    assert report.providers["openai"].outcome is Outcome.MISSING
    assert report.providers["openai"].code == "sync_busy"
    coverage = world.coverage.records[(ENTERPRISE_ID, OPENAI)]
    assert {coverage.state(d) for d in OCTOBER} == {DayState.MISSING}
