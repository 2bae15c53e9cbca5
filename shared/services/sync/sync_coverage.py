"""The sync's coverage: record what each task settled or lost, repair it, tell admins of a persistent failure.

Called by the sync worker (``shared.services.sync.sync_enterprise``), after its snapshots are stored:

* a provider pulled: its window's days are settled, pending (usage without its bill yet) or missing (malformed);
* a provider whose pull failed for good (a permanent provider error, or a transient one on the task's last attempt:
  Cloud Tasks will not deliver it again, the sync queue's ``Settings.task_max_attempts``): the window's days are
  missing, a failure episode starts and the enterprise's admins get one email per episode;
* after a daily sync: one repair task per provider (``repair_tasks``) re-pulls the earliest missing or pending days
  older than the daily window, at most ``CHUNK_DAYS`` days, named from (enterprise, provider, window, day) so a
  re-run of the daily task enqueues nothing new.

The record itself is ``shared.domain.sync.coverage``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any

from shared.config import Settings
from shared.domain.connections.provider_keys import display_name
from shared.domain.enterprise.model import Enterprise, ProviderName, Role
from shared.domain.sync.backfill import CHUNK_DAYS, SYNC_WORKER
from shared.domain.sync.coverage import SyncCoverage, after_failure, after_pull, repair_window
from shared.domain.usage.records import ProviderPull
from shared.errors import PlatformError
from shared.ports import Clock, CoverageStore, Mailer, TaskQueue, TaskSpec
from shared.services.sync.sync_report import Outcome, ProviderResult, SyncReport, window_days

log = logging.getLogger(__name__)

REPAIR_REASON = "repair"


class SyncCoverageRecorder:
    """Keeps the coverage records of the providers a sync task touched."""

    def __init__(
        self, *, coverage: CoverageStore, mailer: Mailer, tasks: TaskQueue, clock: Clock, settings: Settings
    ) -> None:
        self._coverage = coverage
        self._mailer = mailer
        self._tasks = tasks
        self._clock = clock
        self._settings = settings

    def pulled(
        self,
        enterprise_id: str,
        days: Iterable[date],
        outcomes: Mapping[ProviderName, tuple[Iterable[date], Mapping[date, str]]],
    ) -> dict[ProviderName, SyncCoverage]:
        """Record the window's ``days`` pulled for each provider of ``outcomes``: its days still pending and those
        that failed (their error codes); the records are read together."""
        window = list(days)
        changes = {
            provider: partial(after_pull, days=window, pending=list(pending), failed=failed)
            for provider, (pending, failed) in outcomes.items()
        }
        return self._coverage.update_many(enterprise_id, changes)

    def repull_horizon(self) -> date:
        """The first day the next daily run still re-pulls (``Settings.sync_repull_days``); earlier days need a
        repair to be pulled again."""
        return self._clock.now().date() - timedelta(days=self._settings.sync_repull_days - 1)

    def lost(self, enterprise: Enterprise, provider: ProviderName, days: Iterable[date], *, code: str) -> None:
        """The window's days could not be pulled and no retry will come: record them missing, tell admins once."""
        window, now = list(days), self._clock.now()
        record = self._coverage.update(enterprise.id, provider, lambda c: after_failure(c, window, code=code, now=now))
        log.error(
            "provider days lost until repaired",
            extra={"enterprise_id": enterprise.id, "provider": provider.value, "days": len(window), "error_code": code},
        )
        if record.alert_sent_at is None:
            self._alert(enterprise, provider, record)

    def repair_tasks(self, enterprise_id: str, records: Mapping[ProviderName, SyncCoverage], before: date) -> int:
        """Enqueue one repair task per provider with missing or pending days before ``before``; returns how many."""
        specs = []
        for provider, record in sorted(records.items()):
            window = repair_window(record, before=before, max_days=CHUNK_DAYS)
            if window is None:
                continue
            start, end = window
            payload: dict[str, Any] = {
                "enterprise_id": enterprise_id,
                "providers": [provider.value],
                "start": start.isoformat(),
                "end": end.isoformat(),
                "reason": REPAIR_REASON,
            }
            today = self._clock.now().date()
            name = f"repair-{enterprise_id}-{provider.value}-{start:%Y%m%d}-{end:%Y%m%d}-{today:%Y%m%d}"
            specs.append(TaskSpec(name=name, function=SYNC_WORKER, payload=payload))
        if not specs:
            return 0
        try:
            result = self._tasks.enqueue(self._settings.sync_queue, specs)
        except PlatformError as e:
            # The next daily run asks again: the record still lists the days.
            log.warning("repair not enqueued", extra={"enterprise_id": enterprise_id, "error_code": e.code})
            return 0
        log.info("repair enqueued", extra={"enterprise_id": enterprise_id, "tasks": len(specs) - len(result.failed)})
        return len(specs) - len(result.failed)

    def _alert(self, enterprise: Enterprise, provider: ProviderName, record: SyncCoverage) -> None:
        recipients = sorted({m.email for m in enterprise.members.values() if m.role is Role.ADMIN and m.email})
        context = {"enterprise_id": enterprise.id, "provider": provider.value}
        if recipients:
            try:
                self._mailer.send(self._message(enterprise, provider, record, recipients))
            except PlatformError as e:
                log.warning("sync failure alert not sent", extra={**context, "error_code": e.code})
                return
        else:
            log.warning("sync failing but no admin has an email address", extra=context)
        now = self._clock.now()
        self._coverage.update(enterprise.id, provider, lambda c: c.model_copy(update={"alert_sent_at": now}))

    def _message(
        self, enterprise: Enterprise, provider: ProviderName, record: SyncCoverage, recipients: list[str]
    ) -> EmailMessage:
        name = display_name(provider)
        days = sorted(record.missing)
        span = f"{days[0]} to {days[-1]}" if days else "some days"
        message = EmailMessage()
        message["Subject"] = f"{name} usage of {enterprise.name} could not be synced"
        message["From"] = self._settings.mail_from
        message["To"] = ", ".join(recipients)
        message.set_content(
            f"The usage and costs of {name} for {enterprise.name} could not be read after every retry "
            f"({record.last_failure_code or 'provider error'}). {len(days)} day(s), {span}, are shown as missing, "
            "never as $0, and the daily sync tries them again.\n\n"
            f"Sync health per provider: {self._settings.site_settings_url}\n\n"
            f"You receive this message once per failure, as an admin of {enterprise.name}.\n"
        )
        return message


def settle_coverage(
    recorder: SyncCoverageRecorder,
    enterprise: Enterprise,
    pulls: Mapping[ProviderName, ProviderPull],
    report: SyncReport,
    *,
    last_attempt: bool,
) -> None:
    """Update the coverage of every provider the task pulled or lost; after a daily sync, enqueue repairs.

    On the task's last attempt a transient failure is final: its days are recorded missing and the task is
    acknowledged (the repair pulls them again), instead of answering 503 to a queue that will not retry.
    """
    days = window_days(report.start, report.end)
    records: dict[ProviderName, SyncCoverage] = {}
    horizon = recorder.repull_horizon()
    outcomes: dict[ProviderName, tuple[Iterable[date], Mapping[date, str]]] = {}
    for provider, pull in pulls.items():
        # A pending day the next daily runs re-pull anyway is not recorded: its snapshot says it is pending, and the
        # record (a write) changes only for days that would otherwise never be pulled again.
        pending = [d for d, day in pull.days.items() if day.cost_pending and d < horizon]
        failed = {d: day.error_code or "provider_day_failed" for d, day in pull.days.items() if day.error_code}
        outcomes[provider] = (pending, failed)
    try:
        if outcomes:
            records.update(recorder.pulled(enterprise.id, days, outcomes))
        for name, result in sorted(report.providers.items()):
            final = result.outcome is Outcome.FAILED or (result.outcome is Outcome.RETRY and last_attempt)
            if final:
                recorder.lost(enterprise, ProviderName(name), days, code=result.code or "sync_failed")
                if result.outcome is Outcome.RETRY:
                    report.providers[name] = ProviderResult(Outcome.MISSING, result.code)
    except PlatformError as e:
        if not e.transient:
            raise
        log.warning("sync coverage not recorded", extra={"enterprise_id": enterprise.id, "error_code": e.code})
        report.retry_code = report.retry_code or e.code
    if last_attempt:
        report.retry_code = None
    if report.reason == "daily" and records:
        recorder.repair_tasks(enterprise.id, records, before=report.start)
