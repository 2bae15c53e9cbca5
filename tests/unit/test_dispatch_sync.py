"""The sync dispatcher with behaving fakes: which tasks exist afterwards, and what a re-run or a failure leaves."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.config import Settings
from shared.domain.enterprise.model import (
    Enterprise,
    EnterpriseSettings,
    Member,
    ProviderName,
    ProviderState,
    ProviderStatus,
    Role,
)
from shared.errors import DependencyUnavailable
from shared.services.sync.dispatch_sync import dispatch_sync, sync_task_name, sync_window
from tests.support.fake_sync import FakeSyncTargets
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FakeEnterpriseStore, FixedClock

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
QUEUE = "usage-sync"


def enterprise(
    i: int, *, providers: dict[ProviderName, ProviderStatus], hourly: bool = False, status: str = "active"
) -> Enterprise:
    member = Member(email=None, role=Role.ADMIN, added_at=NOW)
    return Enterprise(
        id=f"ent_{i:04d}",
        name=f"E{i}",
        created_at=NOW,
        updated_at=NOW,
        created_by="u",
        members={"u": member},
        member_uids=["u"],
        settings=EnterpriseSettings(sync_frequency="hourly" if hourly else "daily"),
        providers={p: ProviderState(connected=s is ProviderStatus.CONNECTED, status=s) for p, s in providers.items()},
        status=status,
    )


@pytest.fixture
def store() -> FakeEnterpriseStore:
    s = FakeEnterpriseStore()
    both = {ProviderName.OPENAI: ProviderStatus.CONNECTED, ProviderName.ANTHROPIC: ProviderStatus.CONNECTED}
    for i in range(25):
        s.create(enterprise(i, providers=both, hourly=i % 5 == 0))
    s.create(enterprise(100, providers={ProviderName.OPENAI: ProviderStatus.KEY_FAILED}))  # nothing to sync
    s.create(enterprise(101, providers={}))  # never connected
    s.create(enterprise(102, providers=both, status="closing"))
    s.create(
        enterprise(
            103,
            providers={
                ProviderName.OPENAI: ProviderStatus.DISCONNECTED,
                ProviderName.ANTHROPIC: ProviderStatus.CONNECTED,
            },
        )
    )
    return s


def dispatch(store: FakeEnterpriseStore, queue: FakeTaskQueue, frequency: str = "daily", now: datetime = NOW) -> int:
    result = dispatch_sync(FakeSyncTargets(store), queue, FixedClock(now), Settings(), frequency, page_size=7)  # type: ignore[arg-type]
    return result.created


def test_daily_dispatch_enqueues_one_task_per_enterprise_with_a_connected_provider(store: FakeEnterpriseStore) -> None:
    queue = FakeTaskQueue()
    assert dispatch(store, queue) == 26  # 25 + the one with only Anthropic still connected
    tasks = {t.payload["enterprise_id"]: t for t in queue.tasks(QUEUE)}
    assert not {"ent_0100", "ent_0101", "ent_0102"} & set(tasks)  # key failed, never connected, closing
    assert tasks["ent_0103"].payload["providers"] == ["anthropic"]
    # The window: the 3 completed days before today (end exclusive), the worker's task contract.
    assert tasks["ent_0000"].payload == {
        "enterprise_id": "ent_0000",
        "providers": ["openai", "anthropic"],
        "start": "2026-11-20",
        "end": "2026-11-23",
        "reason": "daily",
    }
    assert {t.function for t in queue.tasks(QUEUE)} == {"sync_worker"}


def test_running_the_dispatcher_again_adds_nothing(store: FakeEnterpriseStore) -> None:
    queue = FakeTaskQueue()
    dispatch(store, queue)
    names = queue.names(QUEUE)
    assert dispatch(store, queue, now=NOW.replace(minute=30)) == 0
    assert queue.names(QUEUE) == names


def test_hourly_dispatch_covers_hourly_enterprises_today_and_yesterday_only(store: FakeEnterpriseStore) -> None:
    # The older days the providers may restate are re-pulled by the daily run, not every hour.
    queue = FakeTaskQueue()
    assert dispatch(store, queue, "hourly", NOW.replace(hour=9, minute=15)) == 5  # ent 0, 5, 10, 15, 20
    task = queue.tasks(QUEUE)[0]
    assert (task.payload["start"], task.payload["end"], task.payload["reason"]) == (
        "2026-11-22",
        "2026-11-24",
        "hourly",
    )
    assert dispatch(store, queue, "hourly", NOW.replace(hour=10, minute=15)) == 5  # a new hour, new tasks


def test_task_names_come_from_enterprise_and_window() -> None:
    window = sync_window("daily", NOW, 3)
    assert (window.start, window.end) == (date(2026, 11, 20), date(2026, 11, 23))
    name = sync_task_name("ent_1", "daily", window)
    assert name == sync_task_name("ent_1", "daily", sync_window("daily", NOW.replace(hour=23), 3))
    assert name != sync_task_name("ent_2", "daily", window)
    assert name.endswith("-sync-ent_1-daily-2026-11-23")


def test_tasks_that_could_not_be_enqueued_fail_the_run_and_a_retry_adds_only_them(store: FakeEnterpriseStore) -> None:
    queue = FakeTaskQueue()
    window = sync_window("daily", NOW, 3)
    missing = sync_task_name("ent_0003", "daily", window)
    queue.fail_tasks(missing)
    with pytest.raises(DependencyUnavailable, match="1 of 26"):
        dispatch(store, queue)
    assert missing not in queue.names(QUEUE)
    queue.heal()
    assert dispatch(store, queue) == 1
    assert missing in queue.names(QUEUE)


def test_a_queue_that_is_down_fails_the_dispatch(store: FakeEnterpriseStore) -> None:
    queue = FakeTaskQueue()
    queue.down = True
    with pytest.raises(DependencyUnavailable):
        dispatch(store, queue)
