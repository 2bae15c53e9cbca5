"""Which days of an enterprise's provider history are known, and how well: the sync's coverage record (ADR 0016).

One record per enterprise and provider (``enterprises/{id}/sync_coverage/{provider}``) says, for the days that are
not simply settled, why:

* **pending**: the provider's usage is in but its bill is not yet (``ProviderDay.cost_pending``; cost data lags
  usage by up to ~48 h), on a day the daily runs no longer re-pull (recent pending days are only in their
  snapshots). The repair step pulls the day again until its cost arrives.
* **missing**: the pull failed for good, either a task that exhausted its retries (Cloud Tasks gave up) or a
  permanent provider error, or the provider's day was malformed. The daily run's repair step pulls the earliest
  missing days again, one window per provider per run.
* **never available**: a day the repair failed to pull ``MAX_REPAIRS`` times; it is shown as such and not tried again.

Every other day the sync has pulled is settled. A day absent from every map is settled or was never asked for
(before the backfill). The record also carries the sync's health: a failure episode that starts when a task runs
out of retries (admins are told once per episode) and ends at the next success; the last success is the enterprise's
``providers.<p>.last_sync``. A sync that changes none of this writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.enterprise.model import ProviderName

MAX_REPAIRS = 3
"""Failed pulls of one missing day after which it is recorded as never available."""
PENDING_REPAIR_DAYS = 14
"""A day still without its cost this many days later is no longer pulled again by the repair (it stays pending,
shown as such): cost data lags usage by hours to days, not weeks."""


class DayState(StrEnum):
    SETTLED = "settled"
    PENDING = "pending"
    MISSING = "missing"
    NEVER_AVAILABLE = "never_available"


class MissingDay(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    """The error code of the last failed pull (e.g. ``provider_unavailable``)."""
    attempts: int = Field(default=1, ge=1)
    """Failed pulls of the day so far."""


class SyncCoverage(BaseModel):
    """The coverage record of one enterprise's provider."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: ProviderName
    missing: dict[date, MissingDay] = Field(default_factory=dict)
    pending: list[date] = Field(default_factory=list)
    never_available: dict[date, str] = Field(default_factory=dict)
    last_failure_at: datetime | None = None
    last_failure_code: str | None = None
    failing_since: datetime | None = None
    """Start of the current failure episode (a task that ran out of retries); ``None`` once a sync succeeds."""
    alert_sent_at: datetime | None = None
    """When admins were told about the current episode (once per episode)."""

    def state(self, day: date) -> DayState:
        if day in self.never_available:
            return DayState.NEVER_AVAILABLE
        if day in self.missing:
            return DayState.MISSING
        if day in self.pending:
            return DayState.PENDING
        return DayState.SETTLED


def after_pull(
    coverage: SyncCoverage,
    days: Iterable[date],
    *,
    pending: Iterable[date],
    failed: Mapping[date, str],
) -> SyncCoverage:
    """The record after a successful pull of ``days``: ``pending`` days await their cost, ``failed`` days were
    malformed (missing again); every other day of the window is settled, and a failure episode ends."""
    window = set(days)
    missing = {d: m for d, m in coverage.missing.items() if d not in window}
    never = dict(coverage.never_available)
    for day, code in failed.items():
        _fail(missing, never, day, code)
    waiting = {d for d in coverage.pending if d not in window} | (set(pending) & window)
    return coverage.model_copy(
        update={
            "missing": dict(sorted(missing.items())),
            "never_available": dict(sorted(never.items())),
            "pending": sorted(waiting - set(missing) - set(never)),
            "failing_since": None,
            "alert_sent_at": None,
        }
    )


def after_failure(coverage: SyncCoverage, days: Iterable[date], *, code: str, now: datetime) -> SyncCoverage:
    """The record after a pull of ``days`` failed for good: the days are missing, and a failure episode starts."""
    missing = dict(coverage.missing)
    never = dict(coverage.never_available)
    for day in days:
        _fail(missing, never, day, code)
    return coverage.model_copy(
        update={
            "missing": dict(sorted(missing.items())),
            "never_available": dict(sorted(never.items())),
            "pending": [d for d in coverage.pending if d not in missing and d not in never],
            "last_failure_at": now,
            "last_failure_code": code,
            "failing_since": coverage.failing_since or now,
        }
    )


def _fail(missing: dict[date, MissingDay], never: dict[date, str], day: date, code: str) -> None:
    if day in never:
        return
    attempts = missing[day].attempts + 1 if day in missing else 1
    if attempts > MAX_REPAIRS:
        missing.pop(day, None)
        never[day] = code
    else:
        missing[day] = MissingDay(code=code, attempts=attempts)


def repair_window(coverage: SyncCoverage, *, before: date, max_days: int) -> tuple[date, date] | None:
    """The next window to pull again, ``[start, end)``: from the earliest missing or pending day before ``before``
    (the daily run's own window), at most ``max_days`` long; ``None`` when nothing needs repair."""
    horizon = before - timedelta(days=PENDING_REPAIR_DAYS)
    candidates = [d for d in coverage.missing if d < before] + [d for d in coverage.pending if horizon <= d < before]
    if not candidates:
        return None
    start = min(candidates)
    return start, min(start + timedelta(days=max_days), before)


class SyncHealth(BaseModel):
    """A provider's sync health as ``GET /api/v1/enterprise`` shows it."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ok", "pending", "degraded", "failing"]
    """``failing``: a task ran out of retries and no sync succeeded since (admins were emailed); ``degraded``: some
    days are missing or never available; ``pending``: some days' costs are not billed yet; ``ok`` otherwise."""
    missing_days: list[date]
    """Days whose pull failed; the daily sync pulls them again. Never shown as $0."""
    pending_days: list[date]
    """Days with usage whose cost the provider has not billed yet."""
    never_available_days: list[date]
    """Days the provider failed to give after every repair."""
    failing_since: datetime | None
    last_failure_code: str | None


def health_of(coverage: SyncCoverage) -> SyncHealth:
    if coverage.failing_since is not None:
        status: Literal["ok", "pending", "degraded", "failing"] = "failing"
    elif coverage.missing or coverage.never_available:
        status = "degraded"
    elif coverage.pending:
        status = "pending"
    else:
        status = "ok"
    return SyncHealth(
        status=status,
        missing_days=sorted(coverage.missing),
        pending_days=sorted(coverage.pending),
        never_available_days=sorted(coverage.never_available),
        failing_since=coverage.failing_since,
        last_failure_code=coverage.last_failure_code,
    )


class RangeCoverage(BaseModel):
    """A provider's days inside a usage range that are not final: shown as such, never as $0."""

    model_config = ConfigDict(frozen=True)

    provider: str
    missing_days: list[date]
    """The pull failed; the daily sync is repairing them. Their usage and cost are not in any figure."""
    pending_days: list[date]
    """Usage is in, the provider's bill is not yet."""
    never_available_days: list[date]


def coverage_in(
    records: Mapping[ProviderName, SyncCoverage], start: date, end: date, *, provider: str | None = None
) -> list[RangeCoverage]:
    """The providers with missing, pending or never-available days in ``[start, end]`` (both inclusive)."""
    found = []
    for name, record in sorted(records.items()):
        if provider is not None and name.value != provider:
            continue
        inside = [
            sorted(d for d in days if start <= d <= end)
            for days in (record.missing, record.pending, record.never_available)
        ]
        if any(inside):
            found.append(
                RangeCoverage(
                    provider=name.value, missing_days=inside[0], pending_days=inside[1], never_available_days=inside[2]
                )
            )
    return found


def gaps(ranges: Iterable[RangeCoverage]) -> dict[str, dict[date, DayState]]:
    """Per provider, the days the sync could not pull, with their state (for the CSV)."""
    found: dict[str, dict[date, DayState]] = {}
    for r in ranges:
        days = {d: DayState.MISSING for d in r.missing_days}
        days.update({d: DayState.NEVER_AVAILABLE for d in r.never_available_days})
        if days:
            found[r.provider] = days
    return found


def coverage_notes(ranges: Iterable[RangeCoverage]) -> list[str]:
    notes = []
    for r in ranges:
        lost = len(r.missing_days) + len(r.never_available_days)
        if lost:
            notes.append(
                f"{r.provider}: {lost} day(s) could not be synced (coverage[].missing_days, never_available_days); "
                "their usage and cost are in no figure until the daily sync repairs them, not counted as $0."
            )
    return notes
