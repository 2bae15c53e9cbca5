"""The retention sweep with behaving fakes: retention boundaries, paging, the time budget, and the erasures it
re-enqueues (never performs). The same boundaries on the Firestore emulator: tests/integration/test_retention_sweep.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from devstack.tokens import mint_oidc_token
from shared.bootstrap import build_web_app
from shared.config import Settings, get_settings
from shared.domain.enterprise.model import Enterprise, Member, Role
from shared.domain.usage.retention import retention_cutoffs
from shared.domain.usage.snapshot import expiry
from shared.errors import DependencyUnavailable
from shared.ports import ErasureRecord
from shared.services.enterprise.retention_sweep import SweepResult, sweep_retention
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.support.fake_enterprise_data import FakeEnterpriseData
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FakeEnterpriseStore, FixedClock

NOW = datetime(2026, 5, 10, 3, 30, tzinfo=UTC)
SETTINGS = Settings(retention_page_size=2)


# --- the boundaries ---------------------------------------------------------------------------------------------


def test_the_oldest_day_kept_is_exactly_the_retention_period_back() -> None:
    cutoffs = retention_cutoffs(NOW, retention_months=24)
    assert (cutoffs.oldest_day, cutoffs.oldest_month) == (date(2024, 5, 10), "2024-05")
    leap = retention_cutoffs(datetime(2026, 2, 28, tzinfo=UTC), retention_months=24)
    assert (leap.oldest_day, leap.oldest_month) == (date(2024, 2, 28), "2024-02")


def test_the_sweep_never_deletes_a_day_before_its_ttl_expires_and_at_most_a_day_after() -> None:
    """The sweep and Firestore TTL (``expire_at`` written by the sync) agree, to the day."""
    today = date(2025, 1, 1)
    while today < date(2029, 1, 1):
        midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
        cutoffs = retention_cutoffs(midnight + timedelta(hours=3), retention_months=24)
        for back in range(725, 740):
            day = today - timedelta(days=back)
            swept = day < cutoffs.oldest_day
            if swept:
                assert expiry(day, 24) <= midnight, (today, day)
            if expiry(day, 24) <= midnight - timedelta(days=1):
                assert swept, (today, day)
        today += timedelta(days=1)


def test_a_naive_or_non_utc_time_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC"):
        retention_cutoffs(datetime(2026, 5, 10), retention_months=24)  # noqa: DTZ001 - naive on purpose
    with pytest.raises(ValueError, match="UTC"):
        retention_cutoffs(datetime(2026, 5, 10, 1, tzinfo=timezone(timedelta(hours=2))), retention_months=24)


# --- the sweep ---------------------------------------------------------------------------------------------------


def enterprise(eid: str, *, closing_since: datetime | None = None) -> Enterprise:
    member = Member(email=None, role=Role.ADMIN, added_at=NOW - timedelta(days=900))
    return Enterprise(
        id=eid,
        name=eid,
        created_at=NOW - timedelta(days=900),
        updated_at=closing_since or NOW - timedelta(days=1),
        created_by="u",
        members={"u": member},
        member_uids=["u"],
        status="closing" if closing_since else "active",
        closing_since=closing_since,
    )


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(NOW)
        self.enterprises = FakeEnterpriseStore()
        self.data = FakeEnterpriseData(self.enterprises)
        self.tasks = FakeTaskQueue()
        self.ticks = 0.0

    def monotonic(self) -> float:
        return self.ticks

    def sweep(self, settings: Settings = SETTINGS) -> SweepResult:
        return sweep_retention(self.data, self.tasks, self.clock, settings, monotonic=self.monotonic)

    def snapshot(self, eid: str, day: date) -> None:
        self.data.put(f"enterprises/{eid}/usage_snapshots/{day}", {"date": day.isoformat()})

    def month(self, eid: str, month: str) -> None:
        self.data.put(f"enterprises/{eid}/usage_months/{month}", {"month": month})

    def raw(self, eid: str, name: str, expire_at: datetime) -> None:
        self.data.put(f"enterprises/{eid}/raw_responses/{name}", {"expire_at": expire_at})


@pytest.fixture
def world() -> World:
    w = World()
    for eid in ("ent_a", "ent_b"):
        w.enterprises.create(enterprise(eid))
        for day in (date(2024, 5, 8), date(2024, 5, 9), date(2024, 5, 10), date(2024, 5, 11), date(2026, 5, 9)):
            w.snapshot(eid, day)
        for month in ("2024-03", "2024-04", "2024-05", "2026-05"):
            w.month(eid, month)
        w.raw(eid, "expired", NOW - timedelta(seconds=1))
        w.raw(eid, "now", NOW)
        w.raw(eid, "fresh", NOW + timedelta(seconds=1))
    return w


def test_exactly_what_is_past_retention_is_deleted_and_a_second_run_deletes_nothing(world: World) -> None:
    result = world.sweep()
    assert (result.snapshots_deleted, result.months_deleted, result.raw_responses_deleted) == (4, 4, 4)
    assert result.complete
    for eid in ("ent_a", "ent_b"):
        assert world.data.paths_under(eid) == [
            f"enterprises/{eid}/raw_responses/fresh",
            f"enterprises/{eid}/usage_months/2024-05",
            f"enterprises/{eid}/usage_months/2026-05",
            f"enterprises/{eid}/usage_snapshots/2024-05-10",
            f"enterprises/{eid}/usage_snapshots/2024-05-11",
            f"enterprises/{eid}/usage_snapshots/2026-05-09",
        ]
    again = world.sweep()
    assert (again.snapshots_deleted, again.months_deleted, again.raw_responses_deleted) == (0, 0, 0)


def test_retention_periods_are_settings(world: World) -> None:
    world.sweep(SETTINGS.model_copy(update={"snapshot_retention_months": 1}))
    assert [p.rsplit("/", 1)[1] for p in world.data.paths_under("ent_a")] == ["fresh", "2026-05", "2026-05-09"]


def test_a_sweep_out_of_time_says_so_and_the_next_run_continues(world: World) -> None:
    budget = SETTINGS.model_copy(update={"retention_sweep_budget_s": 1.0})
    original = world.data.delete_raw_responses_expired

    def slow(at: datetime, *, limit: int) -> int:
        world.ticks += 0.6  # each page takes 0.6 s: the second page ends the budget
        return original(at, limit=limit)

    world.data.delete_raw_responses_expired = slow  # type: ignore[method-assign]
    first = world.sweep(budget)
    assert not first.complete
    assert (first.raw_responses_deleted, first.snapshots_deleted, first.months_deleted) == (4, 0, 0)
    world.ticks = 100.0
    second = world.sweep(budget)
    assert second.complete
    assert (second.raw_responses_deleted, second.snapshots_deleted, second.months_deleted) == (0, 4, 4)


def test_an_erasure_stalled_beyond_the_grace_period_is_enqueued_again_but_not_performed(world: World) -> None:
    grace = timedelta(hours=get_settings().erasure_grace_hours)
    world.enterprises.create(enterprise("ent_stalled", closing_since=NOW - grace))
    world.enterprises.create(enterprise("ent_recent", closing_since=NOW - grace + timedelta(seconds=1)))
    for eid in ("ent_stalled", "ent_recent"):
        world.snapshot(eid, date(2026, 5, 1))
    result = world.sweep()
    assert result.stalled_erasures_requeued == 1
    [task] = world.tasks.tasks(SETTINGS.erase_queue)
    assert (task.function, task.payload) == ("enterprise_erase", {"enterprise_id": "ent_stalled"})
    assert task.name.endswith("-sweep-20260510")
    # The sweep itself erases nothing: the erase task, under the connect identity, does.
    assert world.enterprises.get("ent_stalled") is not None
    assert world.data.paths_under("ent_stalled") == ["enterprises/ent_stalled/usage_snapshots/2026-05-01"]
    world.sweep()
    assert world.tasks.names(SETTINGS.erase_queue) == [task.name], "one task per day"


def test_documents_found_below_a_recently_erased_enterprise_get_its_erasure_enqueued_again(world: World) -> None:
    recheck = timedelta(days=get_settings().erasure_recheck_days)
    for eid, erased in (("ent_late", NOW - recheck), ("ent_old", NOW - recheck - timedelta(seconds=1))):
        world.data.tombstones[eid] = ErasureRecord(eid, NOW - timedelta(days=30), erased)
        world.snapshot(eid, date(2026, 5, 1))
    world.data.tombstones["ent_clean"] = ErasureRecord("ent_clean", None, NOW - timedelta(days=1))
    # Re-created under the same id since: its data is its own.
    world.data.tombstones["ent_a"] = ErasureRecord("ent_a", None, NOW - timedelta(days=1))
    result = world.sweep()
    assert result.erasure_leftovers_requeued == 1
    assert world.tasks.names(SETTINGS.erase_queue) == ["erase-ent_late-leftovers-20260510"]


def test_erase_tasks_that_cannot_be_enqueued_fail_the_sweep_after_its_deletions(world: World) -> None:
    world.enterprises.create(enterprise("ent_stalled", closing_since=NOW - timedelta(days=3)))
    world.tasks.down = True
    with pytest.raises(DependencyUnavailable):
        world.sweep()
    assert len(world.data.paths_under("ent_a")) == 6, "the deletions were done before the failure was reported"
    world.tasks.heal()
    assert world.sweep().stalled_erasures_requeued == 1
    assert len(world.tasks.names(SETTINGS.erase_queue)) == 1


# --- over the function's HTTP contract ---------------------------------------------------------------------------


def post(world: World, body: Any, *, caller: str | None = None) -> ApiResponse:
    settings = get_settings()
    app = build_web_app("retention_sweep", retention=world.data, tasks=world.tasks, clock=world.clock)
    audience = f"{settings.function_base_url}/retention_sweep"
    token = mint_oidc_token(caller or settings.scheduler_service_account, audience)
    headers = Headers({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return app.handle(ApiRequest("POST", "/", headers, body=json.dumps(body).encode()))


def test_the_job_is_answered_with_the_counts(world: World) -> None:
    response = post(world, {})
    assert response.status == 200
    body = json.loads(response.body)
    assert body["oldest_day_kept"] == "2024-05-10"
    assert body["oldest_month_kept"] == "2024-05"
    assert (body["snapshots_deleted"], body["months_deleted"], body["raw_responses_deleted"]) == (4, 4, 4)
    assert body["complete"] is True


def test_only_the_scheduler_may_sweep_and_a_body_with_fields_is_refused(world: World) -> None:
    assert post(world, {}, caller=get_settings().tasks_service_account).status == 401  # caller_not_allowed
    assert post(world, {"months": 1}).status == 400
    assert len(world.data.paths_under("ent_a")) == 12
