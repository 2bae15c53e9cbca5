"""The sync worker's use case: sync one enterprise's connected providers for one window of UTC days.

For the providers named in the task that are still ``connected``:

1. **Keys**: each key read is audit-logged (``key_read``, one entry per task and key version) *before* Secret
   Manager is asked, so no read goes unrecorded. A provider whose key record or secret version is gone is skipped.
   A backfill the connect flow could not enqueue (``backfill_pending``) is enqueued now.
2. **Pull** every provider concurrently (``UsageSource.pull``), within ``Settings.sync_pull_deadline_s``; the keys
   are read side by side first, and each provider's snapshot parts are computed as soon as its pull ends, while the
   others still wait on their providers (the window's months are read ahead meanwhile).
3. **Snapshots** (``shared.services.sync.store_snapshots``): each month's changed days are written with its rollup
   in one commit at the versions read ahead, or, when a month was not read ahead or was written since, in one
   transaction under the enterprise's snapshots lease (``shared.services.sync.snapshot_lease``: one writer at a
   time, a busy lease is 503; a daily or hourly task finding it free stores without taking it, ADR 0025); a failed
   provider or a malformed day never replaces good data. A duplicate task writes nothing.
4. **Raw pages** (debug copies, best effort, written beside the snapshots), then, side by side, the lease's release,
   ``providers.<p>.last_sync`` of the providers pulled, coverage (5) and alerts (7).
5. **Coverage** (``shared.services.sync.sync_coverage``): each provider's days are recorded settled, pending (usage
   without its bill yet) or missing (a permanent failure, or a transient one on the task's last attempt, which is
   then acknowledged and reported to admins once); after a daily sync one repair task per provider re-pulls the
   earliest missing or pending days.
6. **Key failures** (``ProviderAuthError`` / ``ProviderPermissionError``) go to key health: status ``key_failed``,
   admins alerted once, and the task is acknowledged (a retry cannot help).
7. **Alerts** (``shared.services.alerts.evaluate_alerts``): budgets and spend spikes are judged after a daily, hourly or
   manual sync (a backfill imports history: its findings would be old news, and the next daily sync judges anyway),
   and alerts still due are delivered after every sync. Their failures never fail the sync (the data is stored; the
   next sync evaluates again).

``SyncReport.retry`` is set when something transient failed (provider rate limits or outages, timeouts, our own
backends): the entry point answers 503 after everything that succeeded was stored, and Cloud Tasks retries with
backoff. A bug raises after the other providers' data was stored.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import SecretStr

from shared.config import Settings
from shared.domain.connections.provider_keys import ProviderKeyRecord
from shared.domain.connections.secret_naming import is_version_of
from shared.domain.enterprise.model import Enterprise, ProviderName, ProviderStatus
from shared.domain.sync.backfill import (
    BACKFILL_REASON,
    BackfillWindow,
    backfill_tasks,
)
from shared.domain.usage.month import month_key
from shared.domain.usage.pricing import PRICE_DATA_VERSION
from shared.domain.usage.records import Provider, ProviderDay, ProviderPull
from shared.domain.usage.snapshot import UsageSnapshot
from shared.errors import (
    DependencyUnavailable,
    NotFound,
    PlatformError,
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
)
from shared.ports import (
    AuditLog,
    Clock,
    EarlyDays,
    EnterpriseStore,
    Leases,
    MonthRead,
    ProviderConnectionStore,
    RawPage,
    SecretStore,
    SecretVersionRef,
    SnapshotStore,
    TaskQueue,
    UsageSourceFactory,
)
from shared.services.enterprise.audit import record_key_read
from shared.services.sync.provider_parts import (
    EarlyPrepared,
    PreparedPull,
    SavingsLookup,
    opportunity_savings,
    prepare_early,
    prepare_pull,
)
from shared.services.sync.snapshot_lease import snapshots_lease
from shared.services.sync.store_snapshots import (
    IndexLookup,
    Precomputed,
    Stored,
    frontier_level,
    precompute_months,
    store_pulls,
)
from shared.services.sync.sync_coverage import SyncCoverageRecorder, settle_coverage
from shared.services.sync.sync_report import (
    AlertEvaluator,
    KeyFailureRecorder,
    Outcome,
    ProviderResult,
    SyncReport,
    SyncRequest,
    clip_window,
    window_days,
)

log = logging.getLogger(__name__)

SYNC_FINISHED_EVENT = "sync_finished"
"""``event`` of the log record of every sync that ran, labelled ``outcome`` (``SyncReport.outcome``)."""


@dataclass(frozen=True)
class _Key:
    ref: SecretVersionRef
    value: SecretStr


PullResult = ProviderPull | BaseException
_Records = dict[ProviderName, ProviderKeyRecord]


@dataclass(frozen=True, repr=False)
class _Pulled:
    """What the event loop hands back: the keys read, each provider's pull (or why it failed), the parts prepared.

    Its repr is ``object``'s, never its fields': in the main thread, ``asyncio.run`` looks its SIGINT handler up with
    ``signal.getsignal``, which (CPython 3.11) formats the handler, the main task and so this result; a month's days
    and parts took 90 ms to format, for nothing."""

    keys: dict[ProviderName, _Key]
    results: dict[ProviderName, PullResult]
    prepared: dict[ProviderName, PreparedPull]
    precomputed: Precomputed | None = None


SCHEDULED = frozenset({"daily", "hourly"})
"""Reasons of the scheduler's tasks, one per enterprise and period: when their months need a transaction, they take
the snapshots lease only if another sync holds it. Backfill windows, repairs and manual syncs are enqueued side by
side and always take it for their transactions."""


class SyncEnterprise:
    """The sync use case; one instance serves many tasks."""

    def __init__(
        self,
        *,
        enterprises: EnterpriseStore,
        connections: ProviderConnectionStore,
        secrets: SecretStore,
        sources: UsageSourceFactory,
        snapshots: SnapshotStore,
        leases: Leases,
        coverage: SyncCoverageRecorder,
        audit_log: AuditLog,
        key_health: KeyFailureRecorder,
        tasks: TaskQueue,
        clock: Clock,
        settings: Settings,
        index: IndexLookup = frontier_level,
        savings: SavingsLookup = opportunity_savings,
        alerts: AlertEvaluator | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._enterprises = enterprises
        self._connections = connections
        self._secrets = secrets
        self._sources = sources
        self._snapshots = snapshots
        self._leases = leases
        self._coverage = coverage
        self._audit_log = audit_log
        self._key_health = key_health
        self._tasks = tasks
        self._clock = clock
        self._settings = settings
        self._index = index
        self._savings = savings
        self._alerts = alerts
        self._sleep = sleep

    def run(self, request: SyncRequest, *, read_id: str, last_attempt: bool = False) -> SyncReport:
        """Sync ``request.enterprise_id``; ``read_id`` names this task in the ``key_read`` audit entries;
        ``last_attempt``: the queue will not deliver this task again (``Settings.task_max_attempts``)."""
        start, end = clip_window(request, self._clock.now())
        report = SyncReport(request.enterprise_id, start, end, request.reason)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keys") as beside:
            # The key records are read beside the enterprise, so the keys are ready a round trip sooner (read for
            # nothing when the enterprise turns out gone or closing).
            records = beside.submit(self._connections.key_records, request.enterprise_id)
            enterprise = self._enterprises.get(request.enterprise_id)
        if enterprise is None or enterprise.status != "active":
            report.skipped = "enterprise_not_found" if enterprise is None else "enterprise_closing"
        elif end <= start:
            report.skipped = "empty_window"
        if report.skipped:
            log.info("sync skipped", extra={"enterprise_id": request.enterprise_id, "reason": report.skipped})
            return report
        assert enterprise is not None
        wanted = self._connected(enterprise, request, report)
        pulled = (
            _Pulled({}, {}, {})
            if not wanted
            else asyncio.run(self._keys_and_pulls(enterprise, wanted, records, read_id, start, end, report))
        )
        keys, results, prepared = pulled.keys, pulled.results, pulled.prepared
        pulls = {p: r for p, r in results.items() if isinstance(r, ProviderPull)}
        # The debugging copy of the pages is written beside the snapshots, and what follows them (the lease's release,
        # last_sync, coverage, alerts) side by side: independent documents, whose round trips then overlap.
        with ThreadPoolExecutor(max_workers=5, thread_name_prefix="sync") as pool, ExitStack() as held:
            raw = pool.submit(self._save_raw_pages, enterprise.id, pulls, report)
            try:
                stored = self._store(
                    enterprise.id,
                    pulls,
                    prepared,
                    start,
                    end,
                    read_id,
                    scheduled=request.reason in SCHEDULED,
                    held=held,
                    precomputed=pulled.precomputed,
                )
            except DependencyUnavailable as e:
                if not last_attempt:
                    raise
                # No retry is coming: what was pulled could not be stored (busy lease, database down), so the window
                # is recorded missing below like a failed pull, and the daily run's repair pulls it again.
                log.warning("pulled usage not stored on the last attempt", extra={"enterprise_id": enterprise.id})
                results, pulls, stored = {**results, **dict.fromkeys(pulls, e)}, {}, Stored(0, 0, {})
            report.days_written, report.months_written = stored.days_written, stored.months_written
            for provider in pulls:
                days = [d.isoformat() for d in stored.failed_days.get(provider, [])]
                report.providers[provider.value] = ProviderResult(Outcome.SYNCED, failed_days=days)
            bug = self._settle_failures(enterprise.id, keys, results, report)
            judge = request.reason != BACKFILL_REASON
            finishing = [
                raw,
                pool.submit(held.pop_all().close),
                pool.submit(self._snapshots.record_last_sync, enterprise.id, list(pulls), self._clock.now()),
                pool.submit(settle_coverage, self._coverage, enterprise, pulls, report, last_attempt=last_attempt),
                pool.submit(self._evaluate_alerts, enterprise, judge=judge, known=stored.month_days),
            ]
            for done in finishing:
                done.result()  # the first failure (the database unavailable: the task retries) is raised
        log.info(
            "enterprise synced",
            extra={"event": SYNC_FINISHED_EVENT, "outcome": report.outcome, **report.as_dict()},
        )
        if bug is not None:
            raise bug
        return report

    def _store(
        self,
        enterprise_id: str,
        pulls: dict[ProviderName, ProviderPull],
        prepared: dict[ProviderName, PreparedPull],
        start: date,
        end: date,
        read_id: str,
        *,
        scheduled: bool,
        held: ExitStack,
        precomputed: Precomputed | None = None,
    ) -> Stored:
        """Store the pulls; the snapshots lease is taken only for the months' transactions (months written as they
        were read ahead need none), and stays in ``held`` (released when the caller closes it)."""
        if not pulls:
            return Stored(0, 0, {})
        lease = snapshots_lease(
            self._leases,
            self._clock,
            self._settings,
            enterprise_id,
            task=read_id,
            sleep=self._sleep,
            only_when_busy=scheduled,
        )
        try:
            return store_pulls(
                self._snapshots,
                enterprise_id,
                pulls,
                window_days(start, end),
                now=self._clock.now(),
                retention_months=self._settings.snapshot_retention_months,
                index=self._index,
                savings=self._savings,
                prepared=prepared,
                precomputed=precomputed,
                parallel=True,
                lease=_EnteredOnce(held, lease),
            )
        except BaseException:
            held.close()  # released at once: the next delivery, or another task, may store
            raise

    def _evaluate_alerts(
        self, enterprise: Enterprise, *, judge: bool, known: Mapping[str, Mapping[date, UsageSnapshot]]
    ) -> None:
        if self._alerts is None:
            return
        try:
            # The months this sync just read and wrote are handed over: the judging reads only the others.
            self._alerts.evaluate(enterprise, judge=judge, known_months=known)
        except PlatformError as e:
            log.warning("alerts not evaluated", extra={"enterprise_id": enterprise.id, "error_code": e.code})

    # --- keys ----------------------------------------------------------------------------------------------------

    def _connected(self, enterprise: Enterprise, request: SyncRequest, report: SyncReport) -> list[ProviderName]:
        """The providers asked for that are connected, in name order; the others are reported not connected."""
        wanted = request.providers if request.providers is not None else list(enterprise.providers)
        connected: list[ProviderName] = []
        for provider in sorted(set(wanted)):
            state = enterprise.providers.get(provider)
            if state is None or state.status is not ProviderStatus.CONNECTED:
                report.providers[provider.value] = ProviderResult(Outcome.NOT_CONNECTED)
            else:
                connected.append(provider)
        return connected

    def _key(
        self, enterprise: Enterprise, provider: ProviderName, records: Future[_Records], read_id: str
    ) -> _Key | ProviderResult:
        """The provider's key (``records``: the enterprise's key records, being read), its read audit-logged first;
        or why there is none to use."""
        try:
            record = records.result().get(provider)
            if record is None:
                return ProviderResult(Outcome.KEY_UNAVAILABLE, "no_key_record")
            self._resume_backfill(enterprise.id, provider, record)
            ref = SecretVersionRef(record.secret_version)
            if not is_version_of(ref.name, enterprise.id, provider.value):
                log.error(
                    "key record names another secret",
                    extra={"enterprise_id": enterprise.id, "provider": provider.value},
                )
                return ProviderResult(Outcome.KEY_UNAVAILABLE, "secret_name_mismatch")
            record_key_read(self._audit_log, self._clock, enterprise.id, provider, ref, read_id=read_id)
            return _Key(ref, self._secrets.access(ref))
        except NotFound as e:
            return ProviderResult(Outcome.KEY_UNAVAILABLE, e.code)
        except DependencyUnavailable as e:
            return ProviderResult(Outcome.RETRY, e.code)

    def _resume_backfill(self, enterprise_id: str, provider: ProviderName, record: ProviderKeyRecord) -> None:
        """Enqueue a history backfill the connect flow recorded as pending (same task names: no duplicates)."""
        if not record.backfill_pending or record.backfill_start is None or record.backfill_end is None:
            return
        specs = backfill_tasks(enterprise_id, provider, BackfillWindow(record.backfill_start, record.backfill_end))
        context = {"enterprise_id": enterprise_id, "provider": provider.value}
        try:
            result = self._tasks.enqueue(self._settings.sync_queue, specs)
            if not result.failed:
                self._connections.save_key_record(
                    enterprise_id, provider, record.model_copy(update={"backfill_pending": False})
                )
                log.info("pending backfill enqueued", extra=context)
        except PlatformError:
            log.warning("pending backfill still not enqueued", extra=context)

    # --- pulls ---------------------------------------------------------------------------------------------------

    async def _keys_and_pulls(
        self,
        enterprise: Enterprise,
        providers: list[ProviderName],
        records: Future[_Records],
        read_id: str,
        start: date,
        end: date,
        report: SyncReport,
    ) -> _Pulled:
        """The providers' keys read side by side, then each provider pulled and its snapshot parts computed as soon
        as its pull ends, while the others still wait on their providers; meanwhile the window's months are read
        ahead (``SnapshotStore.read_ahead``)."""
        found = await asyncio.gather(
            *(asyncio.to_thread(self._key, enterprise, p, records, read_id) for p in providers)
        )
        keys: dict[ProviderName, _Key] = {}
        for provider, key in zip(providers, found, strict=True):
            if isinstance(key, _Key):
                keys[provider] = key
                continue
            report.providers[provider.value] = key
            if key.outcome is Outcome.RETRY:
                report.retry_code = report.retry_code or key.code
        if not keys:
            return _Pulled(keys, {}, {})
        window = window_days(start, end)
        loop = asyncio.get_running_loop()
        parts: dict[ProviderName, asyncio.Future[PreparedPull | None]] = {p: loop.create_future() for p in keys}
        pulling = [asyncio.create_task(self._pull_and_prepare(p, k, start, end, parts[p])) for p, k in keys.items()]
        # The months are read ahead once the first requests are on the wire: decoding them (in a thread) any sooner
        # holds those requests back on the GIL, and the providers' latency only starts when they arrive.
        await self._sources.requests_out()
        ahead = asyncio.create_task(asyncio.to_thread(self._read_ahead, enterprise.id, window))
        ahead_of_store = asyncio.create_task(self._precompute(enterprise.id, ahead, parts, window))
        pulled = await asyncio.gather(*pulling)
        await ahead
        results = {p: result for p, (result, _) in zip(keys, pulled, strict=True)}
        prepared = {p: ready for p, (_, ready) in zip(keys, pulled, strict=True) if ready is not None}
        return _Pulled(keys, results, prepared, await ahead_of_store)

    async def _pull_and_prepare(
        self, provider: ProviderName, key: _Key, start: date, end: date, parts: asyncio.Future[PreparedPull | None]
    ) -> tuple[PullResult, PreparedPull | None]:
        """Pull and prepare one provider; ``parts`` is told its parts as soon as they are known: those of the days
        the pull built early, else the final ones (``None`` when the pull failed)."""
        deadline, window = self._settings.sync_pull_deadline_s, window_days(start, end)
        loop = asyncio.get_running_loop()
        early: list[asyncio.Future[EarlyPrepared]] = []

        def known(future: asyncio.Future[Any]) -> None:
            if not parts.done():
                failed = future.cancelled() or future.exception() is not None
                parts.set_result(None if failed else _prepared_of(future.result()))

        def built_early(days: Mapping[date, ProviderDay]) -> None:
            # Their parts are computed in a thread while the pull waits for its last responses.
            future = loop.run_in_executor(None, prepare_early, days, window, PRICE_DATA_VERSION, self._savings)
            future.add_done_callback(known)
            early.append(future)

        try:
            [result] = await asyncio.gather(
                asyncio.wait_for(self._pull(provider, key, start, end, built_early), deadline), return_exceptions=True
            )
            if not isinstance(result, ProviderPull):
                return result, None
            known_early = await early[0] if early else None
            # In a thread: the event loop keeps taking in the other providers' responses meanwhile.
            final = loop.run_in_executor(None, prepare_pull, result, window, self._savings, known_early)
            final.add_done_callback(known)
            return result, await final
        finally:
            if not parts.done():
                parts.set_result(None)

    async def _precompute(
        self,
        enterprise_id: str,
        ahead: asyncio.Task[dict[str, MonthRead]],
        parts: Mapping[ProviderName, asyncio.Future[PreparedPull | None]],
        window: list[date],
    ) -> Precomputed | None:
        """The months' changes, computed in a thread as soon as every provider's parts are known (a provider
        waiting for its last responses gives those of the days it built early) and the months were read ahead;
        the transactions take them where nothing changed since (``Precomputed``)."""
        known = await asyncio.gather(*parts.values())
        ready = {p: prepared for p, prepared in zip(parts, known, strict=True) if prepared is not None}
        months = await ahead
        if not ready or not months:
            return None
        try:
            return await asyncio.to_thread(
                precompute_months,
                months,
                ready,
                window,
                index=self._index,
                retention_months=self._settings.snapshot_retention_months,
                enterprise_id=enterprise_id,
            )
        except Exception:
            log.exception("months not computed ahead", extra={"enterprise_id": enterprise_id})
            return None

    async def _pull(self, provider: ProviderName, key: _Key, start: date, end: date, early: EarlyDays) -> ProviderPull:
        async with self._sources(Provider(provider.value), key.value) as source:
            return await source.pull(start, end, early=early)

    def _read_ahead(self, enterprise_id: str, days: list[date]) -> dict[str, MonthRead]:
        months = sorted({month_key(d) for d in days})
        try:
            return self._snapshots.read_ahead(
                enterprise_id, months, retention_months=self._settings.snapshot_retention_months
            )
        except PlatformError as e:  # only a hint: the transactions read what they need
            log.info("months not read ahead", extra={"enterprise_id": enterprise_id, "error_code": e.code})
            return {}

    def _save_raw_pages(self, enterprise_id: str, pulls: dict[ProviderName, ProviderPull], report: SyncReport) -> None:
        pages = [
            RawPage(Provider(p.value), pull.start, pull.end_exclusive, i, page)
            for p, pull in pulls.items()
            for i, page in enumerate(pull.raw_pages)
        ]
        if not pages:
            return
        expire_at = self._clock.now() + timedelta(days=self._settings.raw_response_ttl_days)
        try:
            report.raw_pages = self._snapshots.save_raw_pages(enterprise_id, pages, expire_at=expire_at)
        except DependencyUnavailable:
            log.warning("raw provider pages not stored", extra={"enterprise_id": enterprise_id, "pages": len(pages)})

    # --- failures ------------------------------------------------------------------------------------------------

    def _settle_failures(
        self,
        enterprise_id: str,
        keys: dict[ProviderName, _Key],
        results: dict[ProviderName, PullResult],
        report: SyncReport,
    ) -> BaseException | None:
        """Record each failed pull's outcome; returns an unexpected exception (a bug) to raise last."""
        bug: BaseException | None = None
        for provider, result in results.items():
            if isinstance(result, ProviderPull):
                continue
            context = {"enterprise_id": enterprise_id, "provider": provider.value}
            if isinstance(result, ProviderAuthError | ProviderPermissionError):
                report.providers[provider.value] = self._key_failed(enterprise_id, provider, keys, result, report)
            elif isinstance(result, TimeoutError):
                report.providers[provider.value] = ProviderResult(Outcome.RETRY, "sync_deadline_exceeded")
                report.retry_code = report.retry_code or "sync_deadline_exceeded"
            elif isinstance(result, PlatformError) and result.transient:
                report.providers[provider.value] = ProviderResult(Outcome.RETRY, result.code)
                report.retry_code = report.retry_code or result.code
            elif isinstance(result, ProviderError):
                log.error("provider pull failed", extra={**context, "error_code": result.code})
                report.providers[provider.value] = ProviderResult(Outcome.FAILED, result.code)
            else:
                log.error("provider pull raised unexpectedly", exc_info=result, extra=context)
                bug = bug or result
        return bug

    def _key_failed(
        self,
        enterprise_id: str,
        provider: ProviderName,
        keys: dict[ProviderName, _Key],
        error: ProviderAuthError | ProviderPermissionError,
        report: SyncReport,
    ) -> ProviderResult:
        try:
            self._key_health.record_key_failure(enterprise_id, provider, error, secret_version=keys[provider].ref)
        except DependencyUnavailable as e:
            # Not recorded (or admins not told) yet: retrying the task records it; the episode starts only once.
            report.retry_code = report.retry_code or e.code
            return ProviderResult(Outcome.RETRY, e.code)
        return ProviderResult(Outcome.KEY_FAILED, error.code)


class _EnteredOnce:
    """Enters ``manager`` into ``stack`` the first time it is called, from whichever thread calls first."""

    def __init__(self, stack: ExitStack, manager: AbstractContextManager[None]) -> None:
        self._stack, self._manager = stack, manager
        self._lock = threading.Lock()
        self._entered = False

    def __call__(self) -> None:
        with self._lock:
            if not self._entered:
                self._stack.enter_context(self._manager)
                self._entered = True


def _prepared_of(ready: EarlyPrepared | PreparedPull) -> PreparedPull:
    return ready.prepared if isinstance(ready, EarlyPrepared) else ready
