"""The retention sweep's acceptance test, on the Firestore emulator and the Cloud Tasks emulator.

Data written by the real writers (``FirestoreSnapshots``) sits on both sides of every retention boundary, for two
active enterprises, one whose erasure stalled, one that closed an hour ago and one erased yesterday under which a late
sync wrote afterwards: the sweep deletes exactly what is past retention and nothing else, enqueues the two erasures
that need another run (and performs neither), and a second run deletes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from devstack.tasks_emulator import RunningTasksEmulator, start_tasks_emulator
from shared.adapters.cloud_tasks import CloudTasksQueue
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_erasure import FirestoreErasures
from shared.adapters.firestore_retention import FirestoreRetention
from shared.adapters.firestore_snapshots import MONTHS, RAW, SNAPSHOTS, FirestoreSnapshots
from shared.config import Settings
from shared.domain.enterprise.model import Enterprise, Member, Role
from shared.domain.usage.month import rollup_month
from shared.domain.usage.records import Provider
from shared.domain.usage.retention import retention_cutoffs
from shared.domain.usage.snapshot import build_snapshot
from shared.ports import ErasureRecord, RawPage
from shared.services.enterprise.retention_sweep import sweep_retention
from tests.conftest import LOG_DIR, TEST_PROJECT
from tests.support.fakes import FixedClock
from tests.support.task_recorder import TaskRecorder

NOW = datetime(2026, 5, 10, 3, 30, tzinfo=UTC)
"""When the daily job runs."""
CUTOFFS = retention_cutoffs(NOW, retention_months=24)
PAST_DAY = date(2024, 5, 9)
"""24 months and a day old: past retention (its TTL ``expire_at`` is 2026-05-10T00:00Z)."""
OLDEST_DAY = date(2024, 5, 10)
"""Exactly 24 months old: the oldest day kept."""
DAYS = (PAST_DAY, OLDEST_DAY, date(2024, 5, 11), date(2026, 5, 9))
PAST_MONTH, MONTH_LIST = "2024-04", ("2024-04", "2024-05", "2026-05")
ACTIVE = ("ent_active_a", "ent_active_b")
STALLED, CLOSING, ERASED = "ent_stalled", "ent_closing", "ent_erased"
REGION, QUEUE = "europe-west1", Settings().erase_queue


@pytest.fixture(scope="module")
def recorder() -> Iterator[TaskRecorder]:
    recording = TaskRecorder()
    yield recording
    recording.close()


@pytest.fixture(scope="module")
def tasks_emulator() -> Iterator[RunningTasksEmulator]:
    with start_tasks_emulator(
        project=TEST_PROJECT, region=REGION, queues=[QUEUE], log_path=LOG_DIR / "tasks-emulator-retention.log"
    ) as running:
        yield running


@pytest.fixture
def settings(tasks_emulator: RunningTasksEmulator, recorder: TaskRecorder) -> Settings:
    return Settings(
        project_id=TEST_PROJECT,
        region=REGION,
        cloud_tasks_emulator_host=tasks_emulator.address,
        function_base_url=recorder.base_url,
        retention_page_size=3,
    )


def enterprise(eid: str, closing_since: datetime | None = None) -> Enterprise:
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


def write_usage(db: Any, eid: str) -> None:
    """What the sync worker writes: snapshots and rollups (with their ``expire_at``) and raw pages."""
    snapshots = FirestoreSnapshots(db)
    days = [build_snapshot(d, {}, index=None, retention_months=24) for d in DAYS]
    months = []
    for month in MONTH_LIST:
        first = build_snapshot(date.fromisoformat(f"{month}-01"), {}, index=None, retention_months=24)
        rollup = rollup_month(month, [first], retention_months=24)
        assert rollup is not None
        months.append(rollup)
    snapshots.save(eid, days, months, synced_at=NOW - timedelta(days=1))

    def page(day: int) -> RawPage:
        window = date(2026, 5, day)
        return RawPage(Provider.OPENAI, window, window + timedelta(days=1), 0, {"report": "costs", "body": {}})

    # One document per task: two tasks' pages have expired, a third's not yet.
    snapshots.save_raw_pages(eid, [page(3)], expire_at=NOW - timedelta(seconds=1))
    snapshots.save_raw_pages(eid, [page(4)], expire_at=NOW - timedelta(seconds=1))
    snapshots.save_raw_pages(eid, [page(5)], expire_at=NOW + timedelta(seconds=1))


def everything(db: Any) -> set[str]:
    """Every usage document of every enterprise (found by collection group, so below deleted enterprises too)."""
    return {doc.reference.path for group in (SNAPSHOTS, MONTHS, RAW) for doc in db.collection_group(group).stream()}


@pytest.fixture
def world(firestore_db: Any) -> Any:
    enterprises = FirestoreEnterprises(firestore_db)
    closings = {STALLED: NOW - timedelta(days=2), CLOSING: NOW - timedelta(hours=1)}
    for eid in (*ACTIVE, STALLED, CLOSING):
        enterprises.create(enterprise(eid, closings.get(eid)))
        write_usage(firestore_db, eid)
    # Erased yesterday; a sync still running then wrote one recent snapshot afterwards.
    enterprises.create(enterprise(ERASED, NOW - timedelta(days=1, hours=1)))
    FirestoreErasures(firestore_db).finish(
        ErasureRecord(ERASED, NOW - timedelta(days=1, hours=1), NOW - timedelta(days=1))
    )
    recent = build_snapshot(date(2026, 5, 9), {}, index=None, retention_months=24)
    FirestoreSnapshots(firestore_db).save(ERASED, [recent], [], synced_at=NOW - timedelta(hours=20))
    return firestore_db


def test_the_sweep_deletes_exactly_what_is_past_retention_and_a_second_run_nothing(
    world: Any, settings: Settings, recorder: TaskRecorder
) -> None:
    assert CUTOFFS.oldest_day == OLDEST_DAY
    before = everything(world)
    with_data = (*ACTIVE, STALLED, CLOSING)
    past = {f"enterprises/{e}/{SNAPSHOTS}/{PAST_DAY}" for e in with_data}
    past |= {f"enterprises/{e}/{MONTHS}/{PAST_MONTH}" for e in with_data}
    past |= {f"enterprises/{e}/{RAW}/2026050{d}_2026050{d + 1}_openai_00" for e in with_data for d in (3, 4)}
    assert past <= before

    queue = CloudTasksQueue(settings)
    try:
        result = sweep_retention(FirestoreRetention(world), queue, FixedClock(NOW), settings)
        assert everything(world) == before - past
        assert (result.snapshots_deleted, result.months_deleted, result.raw_responses_deleted) == (4, 4, 8)
        assert (result.stalled_erasures_requeued, result.erasure_leftovers_requeued) == (1, 1)
        assert result.complete

        again = sweep_retention(FirestoreRetention(world), queue, FixedClock(NOW), settings)
        assert (again.snapshots_deleted, again.months_deleted, again.raw_responses_deleted) == (0, 0, 0)
        assert everything(world) == before - past
    finally:
        queue.close()

    # The erasures are enqueued for the enterprise_erase function, never performed by the sweep.
    deliveries = recorder.wait_for(lambda ds: {d.payload["enterprise_id"] for d in ds} >= {STALLED, ERASED})
    assert {d.path for d in deliveries} == {"/enterprise_erase"}
    assert {d.payload["enterprise_id"] for d in deliveries} == {STALLED, ERASED}
    assert FirestoreEnterprises(world).get(STALLED) is not None
    assert f"enterprises/{ERASED}/{SNAPSHOTS}/2026-05-09" in everything(world)
