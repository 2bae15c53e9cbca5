"""Behaving fakes of the sync's ports: snapshot store, sync targets and provider usage sources.

``FakeSnapshotStore`` stores documents the way Firestore would (each ``save`` replaces whole documents and counts
its writes); ``FakeSyncTargets`` reads a ``FakeEnterpriseStore`` with the Firestore adapter's filters;
``FakePullSources`` answers ``pull`` with the ``ProviderDay``s a test registered, or with the error it chose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType

from pydantic import SecretStr

from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.domain.sync.coverage import SyncCoverage
from shared.domain.usage.month import UsageMonth, month_key
from shared.domain.usage.records import OrgIdentity, Provider, ProviderDay, ProviderPull
from shared.domain.usage.snapshot import UsageSnapshot
from shared.errors import DependencyUnavailable, ProviderAuthError
from shared.ports import EarlyDays, MonthChange, MonthRead, MonthWrite, RawPage, SyncTarget
from tests.support.fakes import FakeEnterpriseStore


class FakeSnapshotStore:
    """Documents by enterprise and id, with a write counter; ``down`` makes every call fail transiently."""

    def __init__(self) -> None:
        self.snapshots: dict[tuple[str, date], UsageSnapshot] = {}
        self.months: dict[tuple[str, str], UsageMonth] = {}
        self.synced_at: dict[tuple[str, str], datetime] = {}
        self.raw: dict[str, list[tuple[RawPage, datetime]]] = {}
        self.last_sync: dict[tuple[str, ProviderName], datetime] = {}
        self.writes = 0
        self.commits = 0
        self.down = False
        self.versions: dict[tuple[str, str], int] = {}
        self.between_read_and_write: Callable[[str], None] | None = None
        self.retried = 0
        self.max_attempts = 5
        self.day_reads: list[tuple[str, ...]] = []
        """The months of every ``days`` call (the reads of whole months of snapshots), in order."""
        self.rollup_reads: list[tuple[str, ...]] = []
        """The months of every ``rollups`` call, in order."""
        self.read_ahead_months: list[tuple[str, ...]] = []
        """The months of every ``read_ahead`` hint."""
        self.reads_ahead = False
        """Read months ahead as the Firestore adapter does, for ``update_months_ahead`` to take; off by default (the
        fake then reads nothing ahead, and every update is a transaction)."""
        self.written_ahead = 0
        """Updates ``update_months_ahead`` took."""
        self._ahead: dict[tuple[str, str], tuple[int, MonthRead]] = {}

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("the database is temporarily unavailable (fake outage)")

    def days(self, enterprise_id: str, months: Sequence[str]) -> dict[date, UsageSnapshot]:
        self.day_reads.append(tuple(sorted(months)))
        return self._days(enterprise_id, months)

    def _days(self, enterprise_id: str, months: Sequence[str]) -> dict[date, UsageSnapshot]:
        self._check()
        wanted = set(months)
        return {d: s for (e, d), s in self.snapshots.items() if e == enterprise_id and month_key(d) in wanted}

    def save(
        self, enterprise_id: str, days: Sequence[UsageSnapshot], months: Sequence[UsageMonth], *, synced_at: datetime
    ) -> None:
        self._check()
        self.commits += 1
        for day in days:
            self.snapshots[(enterprise_id, day.date)] = day
            self.synced_at[(enterprise_id, day.date.isoformat())] = synced_at
        for month in months:
            self.months[(enterprise_id, month.month)] = month
            self.synced_at[(enterprise_id, month.month)] = synced_at
        self.writes += len(days) + len(months)
        for key in {month_key(d.date) for d in days} | {m.month for m in months}:
            self.versions[(enterprise_id, key)] = self.versions.get((enterprise_id, key), 0) + 1

    def update_months(
        self,
        enterprise_id: str,
        changes: Mapping[str, MonthChange],
        *,
        synced_at: datetime,
        retention_months: int,
    ) -> dict[str, MonthWrite]:
        """Optimistic, as a transaction behaves to its callers: each change runs on what was read, and all run again
        when another update of one of the months committed in between (``between_read_and_write`` lets a test commit
        one there, once per month)."""
        months = sorted(changes)
        for _ in range(self.max_attempts):
            self._check()
            versions = {m: self.versions.get((enterprise_id, m), 0) for m in months}
            read = {m: (self._days(enterprise_id, [m]), self.months.get((enterprise_id, m))) for m in months}
            results = {m: changes[m](*read[m]) for m in months}
            if self.between_read_and_write is not None:
                for month in months:
                    self.between_read_and_write(month)
            if any(self.versions.get((enterprise_id, m), 0) != versions[m] for m in months):
                self.retried += 1
                continue
            days = [day for m in months for day in results[m].days]
            rollups = [results[m].rollup for m in months if results[m].rollup is not None]
            if days or rollups:
                self.save(enterprise_id, days, [r for r in rollups if r is not None], synced_at=synced_at)
            return results
        raise DependencyUnavailable("the months are busy with concurrent writes (fake contention)")

    def read_ahead(self, enterprise_id: str, months: Sequence[str], *, retention_months: int) -> dict[str, MonthRead]:
        self.read_ahead_months.append(tuple(sorted(months)))
        read: dict[str, MonthRead] = {}
        for month in sorted(set(months)) if self.reads_ahead else []:
            rollup = self.months.get((enterprise_id, month))
            if rollup is not None:
                read[month] = (self._days(enterprise_id, [month]), rollup)
                self._ahead[(enterprise_id, month)] = (self.versions.get((enterprise_id, month), 0), read[month])
        return read

    def update_months_ahead(
        self, enterprise_id: str, changes: Mapping[str, MonthChange], *, synced_at: datetime
    ) -> dict[str, MonthWrite] | None:
        """The changes on the months read ahead, committed only if none was written since (as the adapter's
        preconditions do)."""
        ahead = {m: self._ahead.get((enterprise_id, m)) for m in changes}
        read = {m: found for m, found in ahead.items() if found is not None}
        if len(read) < len(changes):
            return None
        if any(self.versions.get((enterprise_id, m), 0) != version for m, (version, _) in read.items()):
            return None
        self._check()
        results = {m: changes[m](*month_read) for m, (_, month_read) in read.items()}
        if any(r.days and r.rollup is None for r in results.values()):
            return None
        days = [day for r in results.values() for day in r.days]
        rollups = [r.rollup for r in results.values() if r.rollup is not None]
        if days or rollups:
            self.save(enterprise_id, days, rollups, synced_at=synced_at)
        for month in changes:
            del self._ahead[(enterprise_id, month)]
        self.written_ahead += 1
        return results

    def month(self, enterprise_id: str, month: str) -> UsageMonth | None:
        self._check()
        return self.months.get((enterprise_id, month))

    def rollups(self, enterprise_id: str, months: Sequence[str]) -> dict[str, UsageMonth]:
        self.rollup_reads.append(tuple(sorted(months)))
        self._check()
        return {m: self.months[(enterprise_id, m)] for m in months if (enterprise_id, m) in self.months}

    def save_raw_pages(self, enterprise_id: str, pages: Sequence[RawPage], *, expire_at: datetime) -> int:
        self._check()
        self.raw.setdefault(enterprise_id, []).extend((p, expire_at) for p in pages)
        return len(pages)

    def record_last_sync(self, enterprise_id: str, providers: Sequence[ProviderName], at: datetime) -> None:
        self._check()
        for provider in providers:
            self.last_sync[(enterprise_id, provider)] = at

    def day(self, enterprise_id: str, day: date) -> UsageSnapshot | None:
        return self.snapshots.get((enterprise_id, day))


class FakeCoverageStore:
    """Coverage records by (enterprise, provider), written only when changed (as the Firestore adapter does)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, ProviderName], SyncCoverage] = {}
        self.writes = 0

    def all(self, enterprise_id: str) -> dict[ProviderName, SyncCoverage]:
        return {p: r for (e, p), r in self.records.items() if e == enterprise_id}

    def update(
        self, enterprise_id: str, provider: ProviderName, change: Callable[[SyncCoverage], SyncCoverage]
    ) -> SyncCoverage:
        current = self.records.get((enterprise_id, provider)) or SyncCoverage(provider=provider)
        changed = change(current)
        if changed != current:
            self.records[(enterprise_id, provider)] = changed
            self.writes += 1
        return changed

    def update_many(
        self, enterprise_id: str, changes: Mapping[ProviderName, Callable[[SyncCoverage], SyncCoverage]]
    ) -> dict[ProviderName, SyncCoverage]:
        return {provider: self.update(enterprise_id, provider, change) for provider, change in changes.items()}


class FakeLeases:
    """Leases by (enterprise, name): held until released or expired, as the Firestore adapter keeps them."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.taken = 0

    def acquire(self, enterprise_id: str, name: str, *, holder: str, now: datetime, ttl: timedelta) -> bool:
        current = self.held.get((enterprise_id, name))
        if current is not None and current[1] > now:
            return False
        self.held[(enterprise_id, name)] = (holder, now + ttl)
        self.taken += 1
        return True

    def busy(self, enterprise_id: str, name: str, *, now: datetime) -> bool:
        current = self.held.get((enterprise_id, name))
        return current is not None and current[1] > now

    def release(self, enterprise_id: str, name: str, *, holder: str) -> None:
        current = self.held.get((enterprise_id, name))
        if current is not None and current[0] == holder:
            del self.held[(enterprise_id, name)]


class FakeSyncTargets:
    """Active enterprises of a ``FakeEnterpriseStore`` with a connected provider, in id order, page by page."""

    def __init__(self, enterprises: FakeEnterpriseStore) -> None:
        self._enterprises = enterprises
        self.pages_read = 0

    def pages(self, *, hourly_only: bool, page_size: int) -> Iterator[list[SyncTarget]]:
        docs = [
            e
            for _, e in sorted(self._enterprises.docs.items())
            if e.status == "active" and (not hourly_only or e.settings.sync_frequency == "hourly")
        ]
        for i in range(0, len(docs), page_size):
            self.pages_read += 1
            page = []
            for e in docs[i : i + page_size]:
                up = {p for p, state in e.providers.items() if state.status is ProviderStatus.CONNECTED}
                connected = tuple(p for p in ProviderName if p in up)
                if connected:
                    page.append(SyncTarget(e.id, connected))
            yield page


class _Source:
    def __init__(self, owner: FakePullSources, provider: Provider, key: str) -> None:
        self.provider = provider
        self._owner = owner
        self._key = key

    async def __aenter__(self) -> _Source:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._owner.closed += 1

    async def validate(self) -> OrgIdentity:
        raise NotImplementedError("the sync never validates keys")

    async def pull(self, start: date, end_exclusive: date, *, early: EarlyDays | None = None) -> ProviderPull:
        self._owner.pulls.append((self.provider, start, end_exclusive))
        if self._key not in self._owner.keys.get(self.provider, set()):
            raise ProviderAuthError(f"{self.provider.value} returned 401: invalid key", provider=self.provider.value)
        error = self._owner.errors.get(self.provider)
        if error is not None:
            raise error
        days = {}
        for i in range((end_exclusive - start).days):
            day = start + timedelta(days=i)
            days[day] = self._owner.days.get((self.provider, day)) or ProviderDay(provider=self.provider, day=day)
        page = {"report": "usage", "path": "/v1/fake", "query": [["limit", "31"]], "body": {"data": []}}
        return ProviderPull(
            provider=self.provider,
            start=start,
            end_exclusive=end_exclusive,
            days=days,
            price_data_version="test-prices",
            raw_pages=(page,),
        )


class FakePullSources:
    """``UsageSourceFactory`` serving registered provider days to registered keys."""

    def __init__(self) -> None:
        self.keys: dict[Provider, set[str]] = {}
        self.days: dict[tuple[Provider, date], ProviderDay] = {}
        self.errors: dict[Provider, BaseException] = {}
        self.pulls: list[tuple[Provider, date, date]] = []
        self.closed = 0

    def accept(self, provider: Provider, key: str) -> None:
        self.keys.setdefault(provider, set()).add(key)

    def serve(self, day: ProviderDay) -> None:
        self.days[(day.provider, day.day)] = day

    def __call__(self, provider: Provider, api_key: SecretStr) -> _Source:
        return _Source(self, provider, api_key.get_secret_value())

    async def requests_out(self) -> None:
        return None
