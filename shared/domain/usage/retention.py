"""Retention boundaries: which usage data is past its retention period on a given UTC day.

The product keeps daily usage snapshots and monthly rollups for ``Settings.snapshot_retention_months`` (24) and raw
provider responses until their ``expire_at`` (written at sync time, ``Settings.raw_response_ttl_days`` = 7 days).

The boundaries agree with the ``expire_at`` TTL field the sync writes on snapshots and rollups
(``shared.domain.usage.snapshot.expiry``): a day is kept while it is at most ``months`` old, so on 2026-05-10 the
snapshot of 2024-05-10 is the oldest one kept and the one of 2024-05-09 is past retention, exactly when Firestore's
TTL would delete it (its ``expire_at`` is 2026-05-10T00:00Z). A month is kept while any of its days is kept. The
retention sweeper therefore deletes nothing TTL would not, only sooner than TTL's up-to-72-hour lag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.domain.usage.month import month_key
from shared.domain.usage.snapshot import add_months


@dataclass(frozen=True)
class RetentionCutoffs:
    """What a sweep at ``now`` keeps: anything on or after these bounds."""

    oldest_day: date
    """Snapshots of days before it are past retention."""
    oldest_month: str
    """``YYYY-MM``: rollups of months before it are past retention."""
    now: datetime
    """Raw responses whose ``expire_at`` is at or before it are past retention."""


def retention_cutoffs(now: datetime, *, retention_months: int) -> RetentionCutoffs:
    """The retention bounds at ``now`` (timezone-aware, read in UTC)."""
    if now.tzinfo is None or now.utcoffset() != timedelta(0):
        raise ValueError("now must be a UTC datetime")
    if retention_months < 1:
        raise ValueError("retention_months must be at least 1")
    oldest_day = add_months(now.date(), -retention_months)
    return RetentionCutoffs(oldest_day=oldest_day, oldest_month=month_key(oldest_day), now=now)
