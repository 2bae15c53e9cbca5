"""The sync worker's input (the task body) and output (what happened, per provider).

Task payload, from the dispatcher and from connect's backfill::

    {"enterprise_id": "ent_…", "providers": ["openai"], "start": "2026-11-20", "end": "2026-11-23",
     "reason": "daily" | "hourly" | "backfill"}

``end`` is exclusive; days after today are never pulled.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.enterprise.model import Enterprise, ProviderName
from shared.domain.usage.snapshot import UsageSnapshot
from shared.errors import ProviderAuthError, ProviderPermissionError

log = logging.getLogger(__name__)

MAX_WINDOW_DAYS = 400


class SyncRequest(BaseModel):
    """A ``sync_worker`` task's body."""

    model_config = ConfigDict(extra="forbid")

    enterprise_id: str = Field(min_length=1, max_length=200)
    providers: list[ProviderName] | None = None
    """Providers to sync; ``None`` = every connected one."""
    start: date
    end: date
    """Exclusive."""
    reason: Literal["daily", "hourly", "backfill", "manual", "repair"] = "manual"
    """``repair``: missing or pending days pulled again (``shared.services.sync.sync_coverage``)."""

    @model_validator(mode="after")
    def _window(self) -> SyncRequest:
        if self.end <= self.start:
            raise ValueError("end must be after start (end is exclusive)")
        if (self.end - self.start).days > MAX_WINDOW_DAYS:
            raise ValueError(f"a sync window spans at most {MAX_WINDOW_DAYS} days")
        return self


class Outcome(StrEnum):
    SYNCED = "synced"
    """Pulled and stored; days the provider sent malformed are listed in ``failed_days``."""
    KEY_FAILED = "key_failed"
    """The provider refused the key: recorded by key health, acknowledged (a retry cannot help)."""
    NOT_CONNECTED = "not_connected"
    KEY_UNAVAILABLE = "key_unavailable"
    """No key record, or its secret version is disabled or destroyed (disconnected meanwhile)."""
    RETRY = "retry"
    """Transient failure (rate limit, outage, timeout, our own backends): the task is to be retried."""
    FAILED = "failed"
    """The provider answered something we cannot use for the whole window: the days are recorded missing and the
    daily run's repair pulls them again."""
    MISSING = "missing"
    """Transient failure on the task's last attempt: the days are recorded missing (repaired by the daily run) and
    the task is acknowledged."""


@dataclass
class ProviderResult:
    outcome: Outcome
    code: str | None = None
    failed_days: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    enterprise_id: str
    start: date
    end: date
    reason: str
    skipped: str | None = None
    """Why nothing was synced (``enterprise_not_found``, ``enterprise_closing``, ``empty_window``)."""
    providers: dict[str, ProviderResult] = field(default_factory=dict)
    days_written: int = 0
    months_written: int = 0
    raw_pages: int = 0
    retry_code: str | None = None

    @property
    def retry(self) -> bool:
        return self.retry_code is not None

    @property
    def outcome(self) -> str:
        """``retry``, ``failed`` (a provider or some of its days could not be stored) or ``ok``: the label of the
        ``sync_finished`` log record, whose failure ratio is alerted on (``monitoring.tf``)."""
        if self.retry:
            return "retry"
        failing = {Outcome.FAILED, Outcome.KEY_FAILED, Outcome.KEY_UNAVAILABLE}
        if any(r.outcome in failing or r.failed_days for r in self.providers.values()):
            return "failed"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "enterprise_id": self.enterprise_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reason": self.reason,
            "skipped": self.skipped,
            "providers": {
                p: {"outcome": r.outcome.value, "code": r.code, "failed_days": r.failed_days}
                for p, r in sorted(self.providers.items())
            },
            "days_written": self.days_written,
            "months_written": self.months_written,
            "raw_pages": self.raw_pages,
            "retry": self.retry,
        }


class KeyFailureRecorder(Protocol):
    """``shared.services.connections.key_health.KeyHealth``."""

    def record_key_failure(
        self,
        enterprise_id: str,
        provider: ProviderName,
        error: ProviderAuthError | ProviderPermissionError,
        *,
        secret_version: Any = None,
    ) -> bool: ...


class AlertEvaluator(Protocol):
    """``shared.services.alerts.evaluate_alerts.EvaluateAlerts``."""

    def evaluate(
        self,
        enterprise: Enterprise,
        *,
        judge: bool = True,
        known_months: Mapping[str, Mapping[date, UsageSnapshot]] | None = None,
    ) -> Any: ...


def window_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def clip_window(request: SyncRequest, now: datetime) -> tuple[date, date]:
    """The request's window without days after today (UTC)."""
    return request.start, min(request.end, now.date() + timedelta(days=1))
