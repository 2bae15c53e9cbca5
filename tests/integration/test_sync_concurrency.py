"""Syncs of one enterprise side by side on the Firestore emulator, with the real adapter: nothing is lost.

Cloud Tasks runs an enterprise's backfill windows, and the windows of a second provider connected right after the
first, at the same time. Each month's read-modify-write is a Firestore transaction (ADR 0016); these tests run the
tasks in threads, and once with task B forced between task A's reads and its write, and check that every provider
part a task pulled is in its day, that each rollup equals the rollup of its days, and that the documents are those
of the same tasks run one after the other.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters.firestore_leases import FirestoreLeases
from shared.adapters.firestore_snapshots import FirestoreSnapshots
from shared.bootstrap import SystemClock
from shared.config import Settings
from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.month import UsageMonth, rollup_month
from shared.domain.usage.records import Provider, ProviderPull
from shared.domain.usage.snapshot import UsageSnapshot
from shared.ports import MonthChange, MonthWrite
from shared.services.sync.provider_parts import prepare_pull
from shared.services.sync.snapshot_lease import snapshots_lease
from shared.services.sync.store_snapshots import Precomputed, precompute_months, store_pulls
from tests.support.usage_days import anthropic_day, openai_day

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
MAKERS = {ProviderName.OPENAI: openai_day, ProviderName.ANTHROPIC: anthropic_day}
Task = tuple[ProviderName, date, date]
# Two providers connected back to back, each with two neighbouring backfill windows that share November.
TASKS: list[Task] = [
    (provider, start, end)
    for provider in (ProviderName.OPENAI, ProviderName.ANTHROPIC)
    for start, end in ((date(2026, 10, 20), date(2026, 11, 10)), (date(2026, 11, 10), date(2026, 12, 1)))
]


def run(store: FirestoreSnapshots, enterprise_id: str, task: Task) -> None:
    pulls, days = _pull(*task)
    store_pulls(store, enterprise_id, pulls, days, now=NOW, retention_months=24)


def stored(store: FirestoreSnapshots, enterprise_id: str) -> tuple[dict[date, UsageSnapshot], dict[str, UsageMonth]]:
    months = ["2026-10", "2026-11"]
    return store.days(enterprise_id, months), store.rollups(enterprise_id, months)


def assert_nothing_lost(store: FirestoreSnapshots, enterprise_id: str) -> None:
    days, months = stored(store, enterprise_id)
    for provider, start, end in TASKS:
        for i in range((end - start).days):
            day = days.get(start + timedelta(days=i))
            assert day is not None
            assert provider.value in day.by_provider, (provider, start + timedelta(days=i))
    assert sorted(months) == ["2026-10", "2026-11"]
    for month, rollup in months.items():
        assert rollup == rollup_month(month, days.values(), retention_months=24)


def sequential(store: FirestoreSnapshots) -> tuple[dict[date, UsageSnapshot], dict[str, UsageMonth]]:
    for task in TASKS:
        run(store, "ent_in_order", task)
    return stored(store, "ent_in_order")


def test_tasks_of_one_enterprise_in_threads_under_the_lease_lose_nothing(firestore_db: Any) -> None:
    store, leases = FirestoreSnapshots(firestore_db), FirestoreLeases(firestore_db)
    settings = Settings(project_id="demo-test", sync_lease_poll_s=0.05)
    start = threading.Barrier(len(TASKS))
    errors: list[BaseException] = []

    def task(t: Task) -> None:
        start.wait()
        try:
            with snapshots_lease(leases, SystemClock(), settings, "ent_threads", task=f"{t[0].value}-{t[1]}"):
                run(store, "ent_threads", t)
        except Exception as e:  # noqa: BLE001 - reported below: a thread's exception would otherwise vanish
            errors.append(e)

    threads = [threading.Thread(target=task, args=(t,)) for t in TASKS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert_nothing_lost(store, "ent_threads")
    assert stored(store, "ent_threads") == sequential(store)


class _Interleaving(FirestoreSnapshots):
    """Runs ``other`` (in a thread, as another worker would) the first time November has been read."""

    def __init__(self, client: Any, other: Task) -> None:
        super().__init__(client)
        self._other: Task | None = other
        self.attempts = 0

    def update_months(
        self,
        enterprise_id: str,
        changes: Mapping[str, MonthChange],
        *,
        synced_at: datetime,
        retention_months: int,
    ) -> dict[str, MonthWrite]:
        def hooked(month: str, change: MonthChange) -> MonthChange:
            def run_change(days: Mapping[date, UsageSnapshot], rollup: UsageMonth | None) -> MonthWrite:
                self.attempts += 1
                result = change(days, rollup)
                other = self._other if month == "2026-11" else None
                if other is not None:
                    self._other = None
                    worker = threading.Thread(target=run, args=(FirestoreSnapshots(self._db), enterprise_id, other))
                    worker.start()
                    # The emulator holds our read locks: the other task waits for our commit, or wins and makes this
                    # transaction run again. Either way it may not finish while we wait; we commit after a moment.
                    worker.join(timeout=0.5)
                    self.pending = worker
                return result

            return run_change

        hooked_changes = {month: hooked(month, change) for month, change in changes.items()}
        return super().update_months(
            enterprise_id, hooked_changes, synced_at=synced_at, retention_months=retention_months
        )


@pytest.mark.parametrize("rolled_up_first", [False, True], ids=["new_months", "months_with_rollups"])
def test_a_task_committing_between_anothers_reads_and_write_loses_nothing(
    firestore_db: Any, rolled_up_first: bool
) -> None:
    """``months_with_rollups``: both tasks take November's days from its rollup (ADR 0025) and read no day document,
    so the rollup's lock alone must keep the second from overwriting the first's parts."""
    enterprise_id = f"ent_interleaved_{rolled_up_first}"
    plain = FirestoreSnapshots(firestore_db)
    if rolled_up_first:
        run(plain, enterprise_id, TASKS[1])
    first, second = TASKS[0], TASKS[2]  # OpenAI and Anthropic windows over the same days
    store = _Interleaving(firestore_db, second)
    run(store, enterprise_id, first)
    store.pending.join(timeout=60)
    assert not store.pending.is_alive()
    if not rolled_up_first:
        run(plain, enterprise_id, TASKS[1])
    run(plain, enterprise_id, TASKS[3])
    assert_nothing_lost(plain, enterprise_id)
    assert stored(plain, enterprise_id) == sequential(plain)


@pytest.mark.parametrize("damage", ["sums_only", "unreadable_days"])
def test_a_month_whose_rollup_cannot_give_its_days_is_updated_from_the_days_themselves(
    firestore_db: Any, damage: str
) -> None:
    """A rollup in an older layout, too large to keep its days, or with days that do not decode: the update reads
    the month's day documents instead, so the other provider's days outside the window stay in the rollup."""
    enterprise_id = f"ent_damaged_{damage}"
    store = FirestoreSnapshots(firestore_db)
    run(store, enterprise_id, TASKS[1])  # OpenAI, November 10-30
    rollup = store.rollups(enterprise_id, ["2026-11"])["2026-11"]
    daily = None if damage == "sums_only" else {"2026-11-10": b"not zlib"}
    store.save(enterprise_id, [], [rollup.model_copy(update={"daily": daily})], synced_at=NOW)
    run(store, enterprise_id, (ProviderName.ANTHROPIC, date(2026, 11, 20), date(2026, 11, 22)))
    days, months = stored(store, enterprise_id)
    assert len(days) == 21
    assert all("openai" in day.by_provider for day in days.values())
    assert months["2026-11"] == rollup_month("2026-11", days.values(), retention_months=24)
    assert months["2026-11"].has_daily


def test_a_lease_is_exclusive_until_released_or_expired_and_a_late_holder_never_frees_the_next(
    firestore_db: Any,
) -> None:
    leases, ttl = FirestoreLeases(firestore_db), timedelta(seconds=120)
    assert not leases.busy("ent_1", "snapshots", now=NOW)
    assert leases.acquire("ent_1", "snapshots", holder="a", now=NOW, ttl=ttl)
    assert leases.busy("ent_1", "snapshots", now=NOW + timedelta(seconds=119))
    assert not leases.busy("ent_1", "snapshots", now=NOW + timedelta(seconds=121))  # a dead holder's: expired
    assert not leases.acquire("ent_1", "snapshots", holder="b", now=NOW + timedelta(seconds=60), ttl=ttl)
    assert leases.acquire("ent_2", "snapshots", holder="b", now=NOW, ttl=ttl)  # per enterprise
    leases.release("ent_1", "snapshots", holder="a")
    assert not leases.busy("ent_1", "snapshots", now=NOW + timedelta(seconds=61))
    assert leases.acquire("ent_1", "snapshots", holder="b", now=NOW + timedelta(seconds=61), ttl=ttl)

    # b dies holding it; c breaks the expired lease; b's late release must not free c's.
    assert leases.acquire("ent_1", "snapshots", holder="c", now=NOW + timedelta(seconds=200), ttl=ttl)
    leases.release("ent_1", "snapshots", holder="b")
    assert not leases.acquire("ent_1", "snapshots", holder="d", now=NOW + timedelta(seconds=201), ttl=ttl)


def test_a_month_read_ahead_is_taken_only_while_nobody_has_written_it_since(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task reads its months ahead while its providers answer; another task stores the same month meanwhile. The
    first task's transaction must see that write (the rollup's version differs), not the days it read ahead."""
    import shared.adapters.firestore_snapshots as adapter

    decoded: list[str] = []
    original = adapter.month_snapshots

    def counted(month: UsageMonth, *, retention_months: int) -> dict[date, UsageSnapshot] | None:
        decoded.append(month.month)
        return original(month, retention_months=retention_months)

    monkeypatch.setattr(adapter, "month_snapshots", counted)
    enterprise_id = "ent_read_ahead"
    store = FirestoreSnapshots(firestore_db)
    run(store, enterprise_id, TASKS[1])  # OpenAI, November 10-30
    decoded.clear()
    store.read_ahead(enterprise_id, ["2026-11"], retention_months=24)
    run(store, enterprise_id, (ProviderName.OPENAI, date(2026, 11, 12), date(2026, 11, 14)))
    assert decoded == ["2026-11"]  # read ahead once, and not decoded again in the transaction

    store.read_ahead(enterprise_id, ["2026-11"], retention_months=24)
    run(
        FirestoreSnapshots(firestore_db),
        enterprise_id,
        (ProviderName.ANTHROPIC, date(2026, 11, 20), date(2026, 11, 22)),
    )
    run(store, enterprise_id, (ProviderName.OPENAI, date(2026, 11, 25), date(2026, 11, 27)))
    days, months = stored(store, enterprise_id)
    assert {"openai", "anthropic"} <= set(days[date(2026, 11, 21)].by_provider)
    assert months["2026-11"] == rollup_month("2026-11", days.values(), retention_months=24)


def test_a_month_a_sync_leaves_as_read_ahead_is_confirmed_unwritten_before_nothing_is_stored(
    firestore_db: Any,
) -> None:
    """A task finds nothing to change in the month it read ahead, but another task rewrote one of its days meanwhile.
    The first task's pull is the later one: its figures must end up stored, not dropped because they matched the
    month as it was read ahead."""
    store, enterprise_id, day = FirestoreSnapshots(firestore_db), "ent_confirmed", date(2026, 11, 20)
    run(store, enterprise_id, TASKS[1])  # OpenAI, November 10-30, billed 4.30 a day
    store.read_ahead(enterprise_id, ["2026-11"], retention_months=24)
    doubled = ProviderPull(
        provider=Provider.OPENAI,
        start=day,
        end_exclusive=day + timedelta(days=1),
        days={day: openai_day(day, scale=2)},
        price_data_version="test",
    )
    store_pulls(
        FirestoreSnapshots(firestore_db),
        enterprise_id,
        {ProviderName.OPENAI: doubled},
        [day],
        now=NOW,
        retention_months=24,
    )
    run(store, enterprise_id, (ProviderName.OPENAI, day, day + timedelta(days=1)))  # as read ahead: no change there
    days, months = stored(store, enterprise_id)
    assert days[day].totals.total_cost_usd == Decimal("4.30")
    assert months["2026-11"] == rollup_month("2026-11", days.values(), retention_months=24)


def test_a_month_read_ahead_and_unwritten_since_is_stored_in_one_commit_or_confirmed_by_one_read(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The months read ahead while the providers answer are still current when nobody wrote them since: the sync's
    changes are committed at those versions (one round trip instead of a transaction's read and commit), and a sync
    that changes nothing confirms the versions with one read."""
    store, enterprise_id = FirestoreSnapshots(firestore_db), "ent_one_commit"
    run(store, enterprise_id, TASKS[1])
    api = firestore_db._firestore_api
    calls: Counter[str] = Counter()
    for name in ("begin_transaction", "batch_get_documents", "commit", "rollback"):
        monkeypatch.setattr(api, name, _counting(calls, name, getattr(api, name)))

    store.read_ahead(enterprise_id, ["2026-11"], retention_months=24)
    calls.clear()
    run(store, enterprise_id, (ProviderName.ANTHROPIC, date(2026, 11, 20), date(2026, 11, 22)))
    assert calls == Counter({"commit": 1})

    store.read_ahead(enterprise_id, ["2026-11"], retention_months=24)
    calls.clear()
    run(store, enterprise_id, (ProviderName.ANTHROPIC, date(2026, 11, 20), date(2026, 11, 22)))  # a duplicate task
    assert calls == Counter({"batch_get_documents": 1})

    calls.clear()  # not read ahead: the transaction, begun by reading the rollup's version, then the rollup itself
    run(store, enterprise_id, (ProviderName.ANTHROPIC, date(2026, 11, 23), date(2026, 11, 24)))
    assert calls == Counter({"batch_get_documents": 2, "commit": 1})
    days, months = stored(store, enterprise_id)
    assert {"openai", "anthropic"} <= set(days[date(2026, 11, 21)].by_provider)
    assert months["2026-11"] == rollup_month("2026-11", days.values(), retention_months=24)


def _counting(calls: Counter[str], name: str, rpc: Any) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return rpc(*args, **kwargs)

    return call


def _pull(provider: ProviderName, start: date, end: date) -> tuple[dict[ProviderName, ProviderPull], list[date]]:
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    pull = ProviderPull(
        provider=Provider(provider.value),
        start=start,
        end_exclusive=end,
        days={d: MAKERS[provider](d) for d in days},
        price_data_version="test",
    )
    return {provider: pull}, days


class _CountedChanges:
    """Counts the days the month changes rebuild (``refresh_snapshot`` calls): none when a change computed ahead
    was taken."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import shared.services.sync.store_snapshots as service

        self.rebuilt = 0
        original = service.refresh_snapshot

        def counted(*args: Any, **kwargs: Any) -> UsageSnapshot | None:
            self.rebuilt += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(service, "refresh_snapshot", counted)


def test_a_month_computed_ahead_is_taken_only_while_it_is_unwritten_and_its_parts_the_same(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync computes its months' changes while its last provider responses are out (ADR 0027). Meanwhile another
    task stores days of the same month: the first task's transaction must see them, not commit what it computed on
    the month as it was before."""
    store, enterprise_id = FirestoreSnapshots(firestore_db), "ent_ahead_of_store"
    run(store, enterprise_id, TASKS[1])  # OpenAI, November 10-30

    def ahead(pulls: dict[ProviderName, ProviderPull], days: list[date]) -> tuple[Any, Precomputed]:
        prepared = {p: prepare_pull(pull, days) for p, pull in pulls.items()}
        read = store.read_ahead(enterprise_id, ["2026-11"], retention_months=24)
        return prepared, precompute_months(read, prepared, days, retention_months=24, enterprise_id=enterprise_id)

    def store_with(pulls: Any, days: list[date], prepared: Any, precomputed: Precomputed) -> None:
        store_pulls(
            store, enterprise_id, pulls, days, now=NOW, retention_months=24, prepared=prepared, precomputed=precomputed
        )

    counted = _CountedChanges(monkeypatch)
    # Nobody wrote November since, the same parts: taken as computed, no day rebuilt in the transaction.
    pulls, days = _pull(ProviderName.ANTHROPIC, date(2026, 11, 20), date(2026, 11, 22))
    prepared, precomputed = ahead(pulls, days)
    counted.rebuilt = 0
    store_with(pulls, days, prepared, precomputed)
    assert counted.rebuilt == 0

    # Another task stores early November between the read ahead and the transaction: computed again, nothing lost.
    pulls, days = _pull(ProviderName.ANTHROPIC, date(2026, 11, 24), date(2026, 11, 26))
    prepared, precomputed = ahead(pulls, days)
    run(FirestoreSnapshots(firestore_db), enterprise_id, (ProviderName.OPENAI, date(2026, 11, 1), date(2026, 11, 4)))
    counted.rebuilt = 0
    store_with(pulls, days, prepared, precomputed)
    assert counted.rebuilt == len(days)

    # Parts other than those it was computed with (the pull's last responses changed a day): computed again.
    pulls, days = _pull(ProviderName.ANTHROPIC, date(2026, 11, 27), date(2026, 11, 29))
    _, precomputed = ahead(pulls, days)
    counted.rebuilt = 0
    store_with(pulls, days, {p: prepare_pull(pull, days) for p, pull in pulls.items()}, precomputed)
    assert counted.rebuilt == len(days)

    stored_days, months = stored(store, enterprise_id)
    assert {date(2026, 11, d) for d in (1, 2, 3)} <= set(stored_days)
    assert "openai" in stored_days[date(2026, 11, 2)].by_provider
    for day in (20, 21, 24, 25, 27, 28):
        assert {"openai", "anthropic"} <= set(stored_days[date(2026, 11, day)].by_provider)
    assert months["2026-11"] == rollup_month("2026-11", stored_days.values(), retention_months=24)
