"""The dependencies a deploy unit's handlers and services use, created lazily on first use.

The composition root (``shared.bootstrap``) builds one ``Deps`` per instance; tests pass fakes as overrides, so
exactly the same wiring runs with behaving fakes of our own ports.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from shared.config import Settings
from shared.ports import (
    AlertSettingsStore,
    AlertStore,
    AuditLog,
    BenchmarkStore,
    Clock,
    CoverageStore,
    EnterpriseStore,
    ErasureStore,
    IndexStore,
    InviteDeclines,
    Leases,
    Mailer,
    ProviderConnectionStore,
    QuotaCounter,
    ReportLog,
    ReportTargets,
    RetentionStore,
    SecretStore,
    SnapshotStore,
    SyncTargets,
    TaskQueue,
    TokenRevocations,
    UsageSourceFactory,
    WebhookSender,
)


class Deps:
    def __init__(self, settings: Settings, clock: Clock, **overrides: Any) -> None:
        self.settings = settings
        self.clock = clock
        self._overrides = overrides

    def _override(self, name: str) -> Any:
        return self._overrides.get(name)

    @cached_property
    def firestore(self) -> Any:
        from shared.adapters.firestore_client import firestore_client

        return self._override("firestore") or firestore_client(self.settings)

    @cached_property
    def enterprises(self) -> EnterpriseStore:
        found = self._override("enterprises")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_enterprises import FirestoreEnterprises

        return FirestoreEnterprises(self.firestore)

    @cached_property
    def benchmarks(self) -> BenchmarkStore:
        found = self._override("benchmarks")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_benchmarks import FirestoreBenchmarks

        return FirestoreBenchmarks(self.firestore, self.clock)

    @cached_property
    def indices(self) -> IndexStore:
        found = self._override("indices")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_indices import FirestoreIndices

        return FirestoreIndices(self.firestore, self.clock)

    @cached_property
    def provider_connections(self) -> ProviderConnectionStore:
        found = self._override("provider_connections")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_connections import FirestoreProviderConnections

        return FirestoreProviderConnections(self.firestore)

    @cached_property
    def revocations(self) -> TokenRevocations:
        found = self._override("revocations")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firebase_revocations import FirebaseRevocations, LocalRevocations

        # Local mode mints its own tokens and has no Firebase Auth to ask: nothing there is ever revoked.
        return LocalRevocations() if self.settings.local_mode else FirebaseRevocations(self.settings)

    @cached_property
    def quotas(self) -> QuotaCounter:
        found = self._override("quotas")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_quotas import FirestoreQuotas

        return FirestoreQuotas(self.firestore)

    @cached_property
    def invite_declines(self) -> InviteDeclines:
        found = self._override("invite_declines")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_invite_declines import FirestoreInviteDeclines

        return FirestoreInviteDeclines(self.firestore)

    @cached_property
    def audit_log(self) -> AuditLog:
        found = self._override("audit_log")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_audit import FirestoreAuditLog

        return FirestoreAuditLog(self.firestore)

    @cached_property
    def secrets(self) -> SecretStore:
        """Secret Manager: only the ``connect`` and ``sync`` identities may use it (``api`` has no access at all)."""
        found = self._override("secrets")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.secret_manager import SecretManagerStore

        return SecretManagerStore(self.settings)

    @cached_property
    def tasks(self) -> TaskQueue:
        found = self._override("tasks")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.cloud_tasks import CloudTasksQueue

        return CloudTasksQueue(self.settings)

    @cached_property
    def usage_source_factory(self) -> UsageSourceFactory:
        found = self._override("usage_source_factory")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.usage_sources import ProviderUsageSources

        return ProviderUsageSources(self.settings, self.clock)

    @cached_property
    def mailer(self) -> Mailer:
        found = self._override("mailer")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.smtp_mailer import SmtpMailer

        return SmtpMailer(self.settings)

    @cached_property
    def snapshots(self) -> SnapshotStore:
        found = self._override("snapshots")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_snapshots import FirestoreSnapshots

        return FirestoreSnapshots(self.firestore)

    @cached_property
    def coverage(self) -> CoverageStore:
        found = self._override("coverage")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_coverage import FirestoreCoverage

        return FirestoreCoverage(self.firestore)

    @cached_property
    def leases(self) -> Leases:
        found = self._override("leases")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_leases import FirestoreLeases

        return FirestoreLeases(self.firestore)

    @cached_property
    def sync_targets(self) -> SyncTargets:
        found = self._override("sync_targets")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_sync_targets import FirestoreSyncTargets

        return FirestoreSyncTargets(self.firestore)

    @cached_property
    def report_log(self) -> ReportLog:
        found = self._override("report_log")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_reports import FirestoreReportLog

        return FirestoreReportLog(self.firestore)

    @cached_property
    def report_targets(self) -> ReportTargets:
        found = self._override("report_targets")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_reports import FirestoreReportTargets

        return FirestoreReportTargets(self.firestore)

    @cached_property
    def erasures(self) -> ErasureStore:
        found = self._override("erasures")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_erasure import FirestoreErasures

        return FirestoreErasures(self.firestore)

    @cached_property
    def retention(self) -> RetentionStore:
        found = self._override("retention")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_retention import FirestoreRetention

        return FirestoreRetention(self.firestore)

    @cached_property
    def alert_settings(self) -> AlertSettingsStore:
        found = self._override("alert_settings")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_budgets import FirestoreAlertSettings

        return FirestoreAlertSettings(self.firestore, self.settings.webhook_signing_key)

    @cached_property
    def alerts(self) -> AlertStore:
        found = self._override("alerts")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_alerts import FirestoreAlerts

        return FirestoreAlerts(self.firestore)

    @cached_property
    def webhooks(self) -> WebhookSender:
        found = self._override("webhooks")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.webhook_http import HttpWebhookSender

        return HttpWebhookSender(self.settings)
