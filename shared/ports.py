"""Ports: small interfaces named for the capability the services need.

Adapters in ``shared/adapters`` implement them for a technology (Firestore, Secret Manager, Cloud Tasks, SMTP,
provider HTTP APIs); tests implement them with behaving fakes (``tests/support/fakes.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from pydantic import SecretStr

from shared.domain.alerts.budgets import AlertSettings, WebhookTarget
from shared.domain.alerts.records import Alert, Channel, Outcome
from shared.domain.connections.provider_keys import ProviderKeyRecord
from shared.domain.enterprise.audit import AuditEntry
from shared.domain.enterprise.model import Enterprise, Membership, ProviderName, ProviderState
from shared.domain.peers.index_models import IndexDay
from shared.domain.peers.models import BenchmarkDocument
from shared.domain.peers.release import PublishedRun
from shared.domain.peers.units import UnitIdentity
from shared.domain.reports.delivery import Claim, ReportRecord
from shared.domain.sync.coverage import SyncCoverage
from shared.domain.usage.month import UsageMonth
from shared.domain.usage.records import OrgIdentity, Provider, ProviderDay, ProviderPull
from shared.domain.usage.snapshot import UsageSnapshot
from shared.domain.usage.snapshot_parts import ProviderPart


class Clock(Protocol):
    """The current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


# --- Secrets ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretVersionRef:
    """A reference to one stored secret version: safe to store and show, it reveals nothing of the value."""

    name: str
    """Full resource name, ``projects/P/secrets/S/versions/N``."""

    @property
    def secret_id(self) -> str:
        return self.name.split("/")[3]

    @property
    def version(self) -> str:
        return self.name.rsplit("/", 1)[1]


class SecretStore(Protocol):
    """Stores provider keys. Values go in as ``SecretStr`` and come out as ``SecretStr``, never logged."""

    def add_version(self, secret_id: str, value: SecretStr, labels: Mapping[str, str]) -> SecretVersionRef:
        """Create the secret if needed (with ``labels``) and add ``value`` as its newest enabled version."""
        ...

    def access(self, ref: SecretVersionRef) -> SecretStr:
        """Return the value of an enabled version. Raises ``NotFound`` if destroyed, disabled or missing."""
        ...

    def disable_version(self, ref: SecretVersionRef) -> None:
        """Disable one version (idempotent)."""
        ...

    def destroy_version(self, ref: SecretVersionRef) -> None:
        """Destroy one version for good (idempotent): a key stored by a connect that then failed."""
        ...

    def destroy_if_disabled(self, ref: SecretVersionRef) -> bool:
        """Destroy a version only while it is disabled (a superseded key whose grace period ended); ``False``, and
        nothing done, when it was re-enabled meanwhile, is already destroyed or is gone."""
        ...

    def destroy_all_versions(self, secret_id: str) -> int:
        """Destroy every version of the secret (idempotent); returns how many were destroyed now."""
        ...

    def delete_secret(self, secret_id: str) -> None:
        """Delete the secret entirely (idempotent): used when an enterprise is erased."""
        ...


# --- Tasks --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    """One HTTP task for an internal function.

    ``name`` is derived from the task's domain key (e.g. enterprise and window) so a re-run names the same task;
    the handler must still be idempotent, because queues may deliver twice.
    """

    name: str
    function: str
    """Target function name as in ``infra/functions.json`` (e.g. ``sync_worker``)."""
    payload: Mapping[str, Any]
    schedule_time: datetime | None = None


@dataclass(frozen=True)
class EnqueueResult:
    created: int = 0
    already_existed: int = 0
    failed: Sequence[str] = field(default_factory=tuple)


class TaskQueue(Protocol):
    """Enqueues HTTP tasks for internal functions; an existing task name counts as success."""

    def enqueue(self, queue: str, tasks: Sequence[TaskSpec]) -> EnqueueResult: ...


# --- Email --------------------------------------------------------------------------------------------------


class Mailer(Protocol):
    """Sends a fully built message. Raises ``DependencyUnavailable`` on a transient failure."""

    def send(self, message: EmailMessage) -> None: ...


# --- Enterprises --------------------------------------------------------------------------------------------


class EnterpriseStore(Protocol):
    """Enterprises and their members (``enterprises/{id}``)."""

    def create(self, enterprise: Enterprise) -> tuple[Enterprise, bool]:
        """Store a new enterprise unless one with its id exists; returns the stored one and whether it was new."""
        ...

    def get(self, enterprise_id: str) -> Enterprise | None: ...

    def memberships_for(self, uid: str) -> list[Membership]:
        """Every active enterprise the user belongs to, with their role."""
        ...

    def invited_to(self, email: str) -> list[str]:
        """Ids of the active enterprises with a pending invite for ``email`` (lower-cased)."""
        ...

    def update(self, enterprise_id: str, change: Callable[[Enterprise], EnterpriseChange | None]) -> Enterprise:
        """Apply ``change`` to the stored enterprise atomically, with its audit entries; return the result.

        ``change`` gets the current enterprise and returns the new one (``None``: nothing to write). It may run more
        than once (contention retries a transaction), so it must be a pure function of its argument; an error it
        raises aborts the update with nothing written. Only the top-level fields that changed are written.

        Raises:
            NotFound: ``enterprise_not_found``.
            DependencyUnavailable: the database is unavailable.
        """
        ...


class TokenRevocations(Protocol):
    """Whether a verified user's token was revoked since it was issued (signed out everywhere, disabled, deleted)."""

    def revoked(self, uid: str, authenticated_at: float | None) -> bool:
        """Raises ``DependencyUnavailable`` when it cannot be told."""
        ...


class QuotaCounter(Protocol):
    """Fixed-window usage counters (``quotas/{id}``), each use counted in a transaction."""

    def take(self, quota: str, subject: str, *, limit: int, window_s: int, now: datetime) -> int | None:
        """Count one use by ``subject`` in the window of ``window_s`` seconds that holds ``now``.

        Returns ``None`` when the use was counted, or, when ``limit`` uses were already counted in this window, the
        seconds until the window ends (and counts nothing). Concurrent takes never count more than ``limit``.

        Raises:
            DependencyUnavailable: the database is unavailable.
        """
        ...


class InviteDeclines(Protocol):
    """The invites each invitee declined (``invite_declines/{digest of the email}``), kept apart from the enterprise
    document, which its members can read: an inviter must not learn that an address has an account."""

    def declined(self, email: str) -> frozenset[str]:
        """Ids of the enterprises whose invite ``email`` (lower-cased) declined."""
        ...

    def decline(self, email: str, enterprise_id: str, at: datetime) -> None:
        """Record the decline; recording it again changes nothing."""
        ...


@dataclass(frozen=True)
class EnterpriseChange:
    """The new state of an enterprise and the audit entries written with it, in the same transaction."""

    enterprise: Enterprise
    audit: Sequence[AuditEntry] = ()


# --- Provider usage -------------------------------------------------------------------------------------------


EarlyDays = Callable[[Mapping[date, ProviderDay]], None]
"""Told, on the pull's event loop, the window's days a pull built before its last responses came in (from the reports
in so far, the others taken as empty), so work on them can start while the pull still waits. Each day the late
responses leave as it was is that very object (``is``) in the pull's result; the others are built again."""


class UsageSource(Protocol):
    """One provider organisation's usage and billed cost, read with its admin key.

    Raises ``ProviderAuthError`` / ``ProviderPermissionError`` (permanent), ``ProviderRateLimited`` /
    ``ProviderUnavailable`` (transient) or ``ProviderResponseError``. Malformed data fails only the affected days
    of a pull (``ProviderDay.status == "failed"``), not the pull.
    """

    provider: Provider

    async def validate(self) -> OrgIdentity:
        """Check the key with the cheapest calls that prove it can read usage; returns what they revealed."""
        ...

    async def pull(self, start: date, end_exclusive: date, *, early: EarlyDays | None = None) -> ProviderPull:
        """Every UTC day of ``[start, end_exclusive)``, normalised, list-priced and reconciled; a source may tell
        ``early`` of days built before its last responses (most never do)."""
        ...


class UsageSourceFactory(Protocol):
    """Opens a ``UsageSource`` on one admin key; use it as ``async with factory(provider, key) as source``."""

    def __call__(self, provider: Provider, api_key: SecretStr) -> AbstractAsyncContextManager[UsageSource]: ...

    async def requests_out(self) -> None:
        """Return once the first requests of the sources opened on the running event loop are on the wire (or after
        a short bound): CPU work that need not come first starts then, rather than holding them back."""
        ...


# --- Provider connections and the audit log -------------------------------------------------------------------


class ProviderConnectionStore(Protocol):
    """A provider's public state (``enterprises/{id}`` → ``providers.<p>``) and its server-only key record
    (``enterprises/{id}/private/providers`` → ``<p>``), always written together with their audit entry.

    Raises ``NotFound`` (``enterprise_not_found``) if the enterprise does not exist and ``DependencyUnavailable``
    when the database is unavailable.
    """

    def key_record(self, enterprise_id: str, provider: ProviderName) -> ProviderKeyRecord | None: ...

    def key_records(self, enterprise_id: str) -> dict[ProviderName, ProviderKeyRecord]:
        """Every provider's key record, in one read (the sync worker reads its task's keys together)."""
        ...

    def save_connection(
        self,
        enterprise_id: str,
        provider: ProviderName,
        *,
        state: ProviderState,
        record: ProviderKeyRecord,
        audit: AuditEntry,
        expected_version: str | None,
    ) -> None:
        """Atomically store a (re)connected provider, if its current key record still names ``expected_version``.

        Raises:
            Conflict: ``concurrent_connect``: the record changed since the caller read it; nothing was written.
        """
        ...

    def save_disconnection(
        self,
        enterprise_id: str,
        provider: ProviderName,
        *,
        state: ProviderState,
        audit: AuditEntry,
        expected_version: str | None,
    ) -> None:
        """Atomically store the disconnected state, delete the key record and add the audit entry, provided the key
        record still names ``expected_version`` (``None``: no record); otherwise raise ``Conflict``
        (``concurrent_connect``): a rotation stored a new key since it was read."""
        ...

    def save_key_record(self, enterprise_id: str, provider: ProviderName, record: ProviderKeyRecord) -> bool:
        """Replace the key record only (backfill enqueued, alert sent), if the current record still names the same
        secret version: a rotation that happened meanwhile wins. Returns whether it was replaced."""
        ...

    def mark_key_failed(
        self,
        enterprise_id: str,
        provider: ProviderName,
        *,
        secret_version: str | None,
        error_code: str,
        audit: AuditEntry,
        now: datetime,
    ) -> bool:
        """Start a key-failure episode, atomically, if the provider is ``connected`` and (when given) its current
        key is ``secret_version``: status ``key_failed``, ``last_error``, ``key_failed_at`` and the audit entry.

        Returns:
            Whether this call started the episode (``False``: already failing, rotated meanwhile, or not connected).
        """
        ...


@dataclass(frozen=True)
class AuditCursor:
    """Position after an entry in the newest-first order: (time, id)."""

    at: datetime
    entry_id: str


@dataclass(frozen=True)
class AuditPage:
    entries: Sequence[AuditEntry]
    next: AuditCursor | None
    """Where the next page starts; ``None`` on the last page."""


class AuditLog(Protocol):
    """``enterprises/{id}/audit_log``: written by connect and sync, read by admins through the API."""

    def record(self, enterprise_id: str, entry: AuditEntry) -> None:
        """Store ``entry``; writing the same id again replaces it (retries do not duplicate)."""
        ...

    def page(self, enterprise_id: str, *, limit: int, after: AuditCursor | None) -> AuditPage:
        """Up to ``limit`` entries, newest first, after ``after``."""
        ...


# --- The daily sync: targets, snapshots and rollups -----------------------------------------------------------


@dataclass(frozen=True)
class SyncTarget:
    """An enterprise the sync dispatcher enqueues work for, and its connected providers."""

    enterprise_id: str
    providers: tuple[ProviderName, ...]


class SyncTargets(Protocol):
    """Active enterprises with at least one ``connected`` provider, read in pages of only the fields needed."""

    def pages(self, *, hourly_only: bool, page_size: int) -> Iterator[list[SyncTarget]]:
        """Every target once, in id order, ``page_size`` enterprises read per query (a page may hold fewer)."""
        ...


@dataclass(frozen=True)
class RawPage:
    """One provider page as received, kept for debugging (never a credential)."""

    provider: Provider
    window_start: date
    window_end: date
    """Exclusive."""
    index: int
    """Position of the page in the pull."""
    page: Mapping[str, Any]
    """``ProviderPull.raw_pages`` entry: report, path, query (redacted), body."""


@dataclass(frozen=True)
class MonthWrite:
    """What a month's read-modify-write decided to write: changed days and, when it changed, the month's rollup."""

    days: Sequence[UsageSnapshot]
    rollup: UsageMonth | None
    month_days: Mapping[date, UsageSnapshot] = field(default_factory=dict)
    """Every day of the month as this write leaves it (written or kept): the month's spend history, handed to the
    alerts' judging so it need not read it again."""


MonthRead = tuple[Mapping[date, UsageSnapshot], UsageMonth | None]
"""A month's stored days and rollup, as a ``MonthChange`` is given them."""

MonthChange = Callable[[Mapping[date, UsageSnapshot], UsageMonth | None], MonthWrite]
"""Given a month's stored days and rollup, what to write (``MonthWrite((), None)``: nothing). It may run more than
once for one update (a concurrent writer committed first), so it must not have side effects."""


class SnapshotStore(Protocol):
    """``enterprises/{id}/usage_snapshots/{day}``, ``usage_months/{month}``, ``raw_responses/{id}``, ``last_sync``.

    Raises ``DependencyUnavailable`` when the database is unavailable.
    """

    def days(self, enterprise_id: str, months: Sequence[str]) -> dict[date, UsageSnapshot]:
        """Every stored daily snapshot of the ``YYYY-MM`` months."""
        ...

    def save(
        self, enterprise_id: str, days: Sequence[UsageSnapshot], months: Sequence[UsageMonth], *, synced_at: datetime
    ) -> None:
        """Replace the given day and month documents; a month's days and its rollup always commit in one batch, so a
        rollup never disagrees with its days and a month without a rollup has no snapshot (ADR 0011)."""
        ...

    def update_months(
        self,
        enterprise_id: str,
        changes: Mapping[str, MonthChange],
        *,
        synced_at: datetime,
        retention_months: int,
    ) -> dict[str, MonthWrite]:
        """Read each ``YYYY-MM`` month's days and rollup, apply its change and write the results, atomically (one
        transaction for the months given): a concurrent update of one of them either sees this one's writes or makes
        this one run the changes again on what it wrote. So tasks of one enterprise that overlap in time never
        overwrite each other's provider parts, and a rollup never disagrees with its days. The days may be rebuilt
        from the rollup when it keeps them (``retention_months`` gives them their ``expire_at``). Returns what was
        written, by month."""
        ...

    def update_months_ahead(
        self, enterprise_id: str, changes: Mapping[str, MonthChange], *, synced_at: datetime
    ) -> dict[str, MonthWrite] | None:
        """``update_months`` on the months as they were read ahead, without a transaction: the changes' writes in one
        commit that holds only if none of the months was written since it was read ahead, or, when they write
        nothing, one read confirming that. It holds no lock and waits for none, so it needs no snapshots lease.
        Returns what was written, by month; ``None`` (nothing written) when a month was not read ahead or was
        written since: ``update_months`` then decides."""
        ...

    def read_ahead(self, enterprise_id: str, months: Sequence[str], *, retention_months: int) -> dict[str, MonthRead]:
        """A hint, while the providers answer: read and decode the months' rollups now, so ``update_months`` need not
        decode them again if nobody has written them since (it still reads their versions in its transaction), and
        ``update_months_ahead`` can apply changes to them as read.
        Returns the months read ahead: the very days and rollup objects ``update_months`` then hands to each month's
        change if the month is unchanged since, so a change computed on them ahead of time is known to still hold."""
        ...

    def month(self, enterprise_id: str, month: str) -> UsageMonth | None: ...

    def rollups(self, enterprise_id: str, months: Sequence[str]) -> dict[str, UsageMonth]:
        """The stored rollups of the ``YYYY-MM`` months, in one round trip (one document read per month asked)."""
        ...

    def save_raw_pages(self, enterprise_id: str, pages: Sequence[RawPage], *, expire_at: datetime) -> int:
        """Store the pages (``expire_at`` is their TTL); returns how many were stored."""
        ...

    def record_last_sync(self, enterprise_id: str, providers: Sequence[ProviderName], at: datetime) -> None:
        """Set ``providers.<p>.last_sync`` of the enterprise for each provider synced."""
        ...


class CoverageStore(Protocol):
    """``enterprises/{id}/sync_coverage/{provider}``: which days are pending, missing or never available, and the
    sync's health (``shared.domain.sync.coverage``). Raises ``DependencyUnavailable`` when the database is
    unavailable."""

    def all(self, enterprise_id: str) -> dict[ProviderName, SyncCoverage]:
        """Every provider's record (providers never synced have none)."""
        ...

    def update(
        self, enterprise_id: str, provider: ProviderName, change: Callable[[SyncCoverage], SyncCoverage]
    ) -> SyncCoverage:
        """Apply ``change`` to the provider's record (an empty one when there is none) in a transaction, writing it
        only if it changed; ``change`` may run more than once. Returns the record as stored."""
        ...

    def update_many(
        self, enterprise_id: str, changes: Mapping[ProviderName, Callable[[SyncCoverage], SyncCoverage]]
    ) -> dict[ProviderName, SyncCoverage]:
        """``update`` of several providers' records, read together (one round trip when none changes)."""
        ...


class Leases(Protocol):
    """Short exclusive leases on a named piece of work (``enterprises/{id}/leases/{name}``), released by their holder
    or expiring on their own when a holder dies. Raises ``DependencyUnavailable`` when the database is unavailable."""

    def acquire(self, enterprise_id: str, name: str, *, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the lease for ``holder`` until ``now + ttl``; ``False`` when another holder's lease has not expired."""
        ...

    def release(self, enterprise_id: str, name: str, *, holder: str) -> None:
        """End ``holder``'s lease; a lease that expired and was taken by someone else is left alone."""
        ...

    def busy(self, enterprise_id: str, name: str, *, now: datetime) -> bool:
        """Whether someone holds the lease and it has not expired (one read, nothing written)."""
        ...


# --- Market index -------------------------------------------------------------------------------------------


class IndexStore(Protocol):
    """``indices/{YYYY-MM-DD}``: the market index, one day per document. Raises ``DependencyUnavailable``."""

    def put(self, day: IndexDay) -> None:
        """Store the whole day, replacing any earlier version (idempotent)."""
        ...

    def get(self, day: date) -> IndexDay | None: ...

    def latest(self, n_days_back: int = 7) -> IndexDay | None:
        """The newest published day among today (UTC) and the ``n_days_back`` days before it."""
        ...


# --- Peer benchmarks ----------------------------------------------------------------------------------------------


BenchmarkParticipant = UnitIdentity
"""An active enterprise that shares anonymous benchmarks: its industry, verified provider-organisation keys and
verified admin domains (``shared.domain.peers.units``)."""


class BenchmarkStore(Protocol):
    """The monthly peer benchmark's inputs (opted-in enterprises, their rollups), its documents (``benchmarks``) and
    the frozen record of each published month (``benchmark_runs``, server-only)."""

    def participants(self, *, page_size: int) -> Iterator[list[BenchmarkParticipant]]:
        """Active enterprises with ``settings.share_anonymous_benchmarks`` true, in pages ordered by id."""
        ...

    def month_parts(self, enterprise_ids: Sequence[str], month: str) -> dict[str, dict[str, ProviderPart]]:
        """Each enterprise's per-provider parts of its ``month`` rollup (only the figures a benchmark uses).

        Enterprises without a rollup for the month are absent from the result.
        """
        ...

    def run(self, month: str) -> PublishedRun | None:
        """The month's frozen record with every version's populations, or None if it was never published."""
        ...

    def publish(self, document: BenchmarkDocument, run: PublishedRun) -> None:
        """Write ``benchmarks/{month}``, its record and the new version's populations, all or nothing.

        Raises:
            Conflict: ``benchmark_version_taken`` when that version was published meanwhile (a concurrent run).
        """
        ...

    def get(self, month: str) -> BenchmarkDocument | None: ...

    def latest(self) -> BenchmarkDocument | None:
        """The newest month's document, or None when nothing has been aggregated yet."""
        ...


# --- Monthly reports ----------------------------------------------------------------------------------------


class ReportLog(Protocol):
    """``enterprises/{id}/reports/{YYYY-MM}``: the delivery record of each monthly report (see
    ``shared.domain.reports.delivery``). Raises ``DependencyUnavailable`` when the database is unavailable."""

    def claim(self, enterprise_id: str, month: str, now: datetime, *, lease: timedelta) -> Claim:
        """Decide and apply the claim in one transaction."""
        ...

    def save(self, enterprise_id: str, record: ReportRecord) -> None:
        """Write the record whole (sent, retrying, failed, skipped)."""
        ...

    def get(self, enterprise_id: str, month: str) -> ReportRecord | None: ...

    def recent(self, enterprise_id: str, limit: int) -> list[ReportRecord]:
        """The newest records first."""
        ...

    def months_with_usage(self, enterprise_id: str, limit: int) -> list[str]:
        """The newest ``YYYY-MM`` months that have a usage rollup, newest first (ids only, no content read)."""
        ...


class ReportTargets(Protocol):
    """Active enterprises that receive the monthly email (``settings.email_reports``), a page of ids at a time."""

    def pages(self, *, page_size: int) -> Iterator[list[str]]: ...


# --- Erasure (GDPR) and retention ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureRecord:
    """``erasures/{enterprise_id}``: that an enterprise was erased, and when. Timestamps only (ADR 0012)."""

    enterprise_id: str
    requested_at: datetime | None
    """When an admin asked for the erasure (the enterprise's ``closing_since``)."""
    erased_at: datetime


class ErasureStore(Protocol):
    """Erases what Firestore holds of one enterprise and keeps its tombstone. Raises ``DependencyUnavailable``."""

    def delete_page(self, enterprise_id: str, *, limit: int) -> int:
        """Delete up to ``limit`` documents anywhere below ``enterprises/{id}`` (every subcollection, at any depth,
        whatever its name; not the enterprise document itself). Returns how many; 0 means none is left."""
        ...

    def finish(self, record: ErasureRecord) -> None:
        """Write the tombstone and delete the enterprise document, in one atomic commit."""
        ...

    def record(self, enterprise_id: str) -> ErasureRecord | None: ...


class RetentionStore(Protocol):
    """Usage data of every enterprise past its retention, found with collection group queries, deleted a page at a
    time. Each ``delete_*`` call deletes up to ``limit`` documents and returns how many (0: none left).

    Raises ``DependencyUnavailable`` when the database is unavailable.
    """

    def delete_snapshots_before(self, day: date, *, limit: int) -> int:
        """``usage_snapshots`` of days before ``day``."""
        ...

    def delete_months_before(self, month: str, *, limit: int) -> int:
        """``usage_months`` of ``YYYY-MM`` months before ``month``."""
        ...

    def delete_raw_responses_expired(self, at: datetime, *, limit: int) -> int:
        """``raw_responses`` whose ``expire_at`` is at or before ``at``."""
        ...

    def closing_enterprises(self) -> list[Enterprise]:
        """Every enterprise whose status is ``closing`` (erasure requested, not finished)."""
        ...

    def erased_since(self, since: datetime) -> list[ErasureRecord]:
        """Tombstones of the erasures finished at or after ``since``."""
        ...

    def has_orphaned_data(self, enterprise_id: str) -> bool:
        """Whether documents exist below ``enterprises/{id}`` while the enterprise document itself does not (written
        by a request still running when the enterprise was erased). A re-created enterprise has none."""
        ...


# --- Alerts -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertSettingsChange:
    """An enterprise's new alert settings and webhook target, and the audit entries written with them."""

    settings: AlertSettings
    webhook: WebhookTarget | None
    """``None``: no webhook (any stored target and secret are deleted)."""
    audit: Sequence[AuditEntry] = ()


class AlertSettingsStore(Protocol):
    """``enterprises/{id}/budgets/current`` (members may read) and ``private/alert_webhook`` (server only).

    Raises ``DependencyUnavailable`` when the database is unavailable.
    """

    def get(self, enterprise_id: str) -> AlertSettings | None: ...

    def webhook(self, enterprise_id: str) -> WebhookTarget | None: ...

    def update(
        self,
        enterprise_id: str,
        change: Callable[[AlertSettings | None, WebhookTarget | None], AlertSettingsChange],
    ) -> AlertSettingsChange:
        """Replace both documents with what ``change`` returns for the current ones, atomically, with its audit entries.

        ``change`` may run more than once (transaction retries): it must be a pure function of its arguments.
        """
        ...


@dataclass(frozen=True)
class AlertPage:
    alerts: Sequence[Alert]
    next: AuditCursor | None
    """Where the next (older) page starts: the last alert's (``created_at``, id)."""


class AlertStore(Protocol):
    """``enterprises/{id}/alerts/{alert_id}``. Raises ``DependencyUnavailable`` when the database is unavailable."""

    def create(self, enterprise_id: str, alert: Alert) -> tuple[Alert, bool]:
        """Store ``alert`` unless its id exists; returns the stored alert and whether it was created now."""
        ...

    def get(self, enterprise_id: str, alert_id: str) -> Alert | None:
        """The alert, or ``None`` when there is none (never recorded, or erased)."""
        ...

    def open_alerts(self, enterprise_id: str, *, limit: int) -> list[Alert]:
        """Alerts with a channel not delivered yet (``open``), at most ``limit``."""
        ...

    def claim(
        self,
        enterprise_id: str,
        alert_id: str,
        channel: Channel,
        *,
        now: datetime,
        lease_s: float,
        max_attempts: int,
        from_queue: bool = False,
    ) -> Alert | None:
        """Apply ``shared.domain.alerts.records.claim`` atomically; returns what was stored, or ``None`` if nothing
        changed."""
        ...

    def settle(
        self, enterprise_id: str, alert_id: str, channel: Channel, outcome: Outcome, *, now: datetime, code: str | None
    ) -> None:
        """Apply ``shared.domain.alerts.records.settle`` atomically."""
        ...

    def page(self, enterprise_id: str, *, limit: int, after: AuditCursor | None) -> AlertPage:
        """Up to ``limit`` alerts, newest first, after ``after``."""
        ...


class WebhookSender(Protocol):
    """POSTs a signed alert to an enterprise's webhook: one attempt under ``Settings.webhook_deadline_s``.

    Raises:
        DependencyUnavailable: 5xx, 429, timeout, unreachable: the alert's ``webhook_deliver`` task tries again.
        PlatformError: ``webhook_rejected`` (another 4xx or a redirect) or ``webhook_destination_refused`` (the
            URL resolves to an address we must not call): permanent.
    """

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> None: ...


class LocalTokenMinter(Protocol):
    """Unsigned stand-ins for the tokens Google signs in production, for local mode only: Cloud Tasks' OIDC tokens
    and the metadata server's identity tokens. The local stack supplies it (``shared.local_mode``)."""

    def oidc_token(self, email: str, *, audience: str, lifetime_s: int) -> str:
        """The OIDC token Cloud Tasks would attach for the service account ``email``."""
        ...

    def identity_token(self, subject: str, *, audience: str) -> str:
        """The identity token the metadata server would give the service account whose numeric id is ``subject``."""
        ...
