"""Syncs of one enterprise that run side by side: nothing one task pulled is lost, whatever the interleaving.

Cloud Tasks runs tasks side by side and delivers each at least once; the connect flow enqueues an enterprise's
backfill windows together (neighbours share a month) and connecting a second provider enqueues windows over the same
days. The hook of ``FakeSnapshotStore`` commits task B between task A's reads and its write, the interleaving that
used to drop B's provider parts and leave a rollup disagreeing with its days (issue #16).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.month import UsageMonth, rollup_month
from shared.domain.usage.records import Provider, ProviderDay, ProviderPull
from shared.services.sync.snapshot_lease import SNAPSHOTS_LEASE, SyncBusy, snapshots_lease
from shared.services.sync.store_snapshots import Stored, store_pulls
from tests.support.connect_world import ENTERPRISE_ID
from tests.support.fake_sync import FakeSnapshotStore
from tests.support.sync_world import SyncWorld
from tests.support.usage_days import anthropic_day, openai_day

EID = "ent_interleave"
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
DAILY = {"enterprise_id": ENTERPRISE_ID, "start": "2026-11-20", "end": "2026-11-23", "reason": "daily"}
DayMaker = Callable[[date], ProviderDay]
MAKERS: dict[ProviderName, DayMaker] = {ProviderName.OPENAI: openai_day, ProviderName.ANTHROPIC: anthropic_day}


def pull(provider: ProviderName, start: date, end: date) -> ProviderPull:
    days = {start + timedelta(days=i): MAKERS[provider](start + timedelta(days=i)) for i in range((end - start).days)}
    return ProviderPull(
        provider=Provider(provider.value), start=start, end_exclusive=end, days=days, price_data_version="test"
    )


Task = tuple[ProviderName, date, date]

# Two backfill windows of one provider that share November (the connect flow's 31-day windows are neighbours).
TWO_WINDOWS: tuple[Task, Task] = (
    (ProviderName.OPENAI, date(2026, 10, 4), date(2026, 11, 4)),
    (ProviderName.OPENAI, date(2026, 11, 4), date(2026, 12, 4)),
)
# OpenAI then Anthropic connected back to back: their first windows cover the same days.
TWO_PROVIDERS: tuple[Task, Task] = (
    (ProviderName.OPENAI, date(2026, 11, 4), date(2026, 12, 4)),
    (ProviderName.ANTHROPIC, date(2026, 11, 4), date(2026, 12, 4)),
)


def run(store: FakeSnapshotStore, task: Task) -> Stored:
    provider, start, end = task
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    return store_pulls(store, EID, {provider: pull(provider, start, end)}, days, now=NOW, retention_months=24)


def once_in(month: str, action: Callable[[], object]) -> Callable[[str], None]:
    """A hook that runs ``action`` the first time a task has read ``month`` and not yet written it."""
    done: list[str] = []

    def hook(read_month: str) -> None:
        if read_month == month and not done:
            done.append(month)
            action()

    return hook


def documents(store: FakeSnapshotStore) -> tuple[dict[date, object], dict[str, UsageMonth]]:
    days = {d: s for (e, d), s in store.snapshots.items() if e == EID}
    months = {m: r for (e, m), r in store.months.items() if e == EID}
    return days, months


def assert_nothing_lost(store: FakeSnapshotStore, tasks: tuple[Task, Task]) -> None:
    """Every provider part a task pulled is in its day; every rollup equals the rollup of its days."""
    for provider, start, end in tasks:
        for i in range((end - start).days):
            snapshot = store.day(EID, start + timedelta(days=i))
            assert snapshot is not None
            assert provider.value in snapshot.by_provider, (provider, start + timedelta(i))
    days = [s for (e, _), s in store.snapshots.items() if e == EID]
    for (_, month), rollup in store.months.items():
        assert rollup == rollup_month(month, days, retention_months=24)


@pytest.mark.parametrize("tasks", [TWO_WINDOWS, TWO_PROVIDERS], ids=["two_windows", "two_providers"])
def test_a_task_committed_between_anothers_reads_and_write_loses_nothing(tasks: tuple[Task, Task]) -> None:
    first, second = tasks
    interleaved = FakeSnapshotStore()
    interleaved.between_read_and_write = once_in("2026-11", lambda: run(interleaved, second))
    run(interleaved, first)
    assert interleaved.retried >= 1  # the first task really saw its read overtaken
    assert_nothing_lost(interleaved, tasks)

    in_order, reversed_order = FakeSnapshotStore(), FakeSnapshotStore()
    for task in tasks:
        run(in_order, task)
    for task in reversed(tasks):
        run(reversed_order, task)
    assert documents(interleaved) == documents(in_order) == documents(reversed_order)


def test_a_month_busy_with_writers_on_every_attempt_fails_transiently_and_a_retry_completes() -> None:
    store = FakeSnapshotStore()
    first, second = TWO_PROVIDERS
    store.max_attempts = 1
    store.between_read_and_write = once_in("2026-11", lambda: run(store, second))
    with pytest.raises(Exception, match="busy") as raised:
        run(store, first)
    assert getattr(raised.value, "transient", False)  # the worker answers 503 and Cloud Tasks retries the task
    store.max_attempts = 5
    run(store, first)
    assert_nothing_lost(store, TWO_PROVIDERS)


def test_a_sync_waits_for_the_enterprises_lease_then_answers_busy_and_writes_nothing() -> None:
    world = SyncWorld()
    for day in (date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)):
        world.sources.serve(openai_day(day))
    other = "another-task/1"
    world.leases.acquire(ENTERPRISE_ID, SNAPSHOTS_LEASE, holder=other, now=world.clock.now(), ttl=timedelta(minutes=2))
    waited: list[float] = []
    world.sleep = waited.append
    with pytest.raises(SyncBusy) as busy:
        world.run(DAILY)
    assert busy.value.transient  # 503: Cloud Tasks retries the task later
    assert sum(waited) == pytest.approx(world.settings.sync_lease_wait_s)
    assert world.snapshots.writes == 0

    world.clock.advance(timedelta(minutes=3))  # the other worker died: its lease expires
    report = world.run(DAILY)
    assert report.days_written == 3
    # An expired lease is free: the daily task stores without taking it (ADR 0025); the next sync that takes the
    # lease breaks the dead holder's record.
    assert world.leases.taken == 1
    assert not world.leases.busy(ENTERPRISE_ID, SNAPSHOTS_LEASE, now=world.clock.now())


def test_a_daily_sync_finding_the_lease_free_stores_without_it_and_a_backfill_storing_meanwhile_loses_nothing() -> None:
    """The scheduled sync skips the lease's two writes when no other sync holds it (ADR 0025); a backfill that takes
    the lease and commits between the daily task's reads and its write makes the daily's transaction run again."""
    world = SyncWorld()
    days = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
    for day in days:
        world.sources.serve(openai_day(day))
    anthropic = pull(ProviderName.ANTHROPIC, days[0], days[-1] + timedelta(days=1))

    def backfill() -> None:
        lease = snapshots_lease(world.leases, world.clock, world.settings, ENTERPRISE_ID, task="backfill")
        with lease:
            store_pulls(
                world.snapshots, ENTERPRISE_ID, {ProviderName.ANTHROPIC: anthropic}, days, now=NOW, retention_months=24
            )

    world.snapshots.between_read_and_write = once_in("2026-11", backfill)
    report = world.run(DAILY)
    assert report.days_written == 3
    assert world.leases.taken == 1  # the backfill's only
    assert world.snapshots.retried >= 1
    for day in days:
        snapshot = world.snapshots.day(ENTERPRISE_ID, day)
        assert snapshot is not None
        assert set(snapshot.by_provider) == {"openai", "anthropic"}
    stored = [s for (e, _), s in world.snapshots.snapshots.items() if e == ENTERPRISE_ID]
    rollup = world.snapshots.months[(ENTERPRISE_ID, "2026-11")]
    assert rollup == rollup_month("2026-11", stored, retention_months=world.settings.snapshot_retention_months)


@pytest.mark.parametrize("reason", ["backfill", "repair", "manual"])
def test_syncs_enqueued_side_by_side_always_take_the_lease(reason: str) -> None:
    world = SyncWorld()
    for day in (date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)):
        world.sources.serve(openai_day(day))
    report = world.run({**DAILY, "reason": reason})
    assert report.days_written == 3
    assert world.leases.taken == 1
    assert world.leases.held == {}
