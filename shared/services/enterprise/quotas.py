"""Quotas on what one user or one enterprise may do, answered 429 with ``Retry-After`` when used up.

Each quota is a fixed window (a UTC day, an hour) counted by ``QuotaCounter`` in a Firestore transaction, so requests
running side by side on many instances never get more than the limit between them. Limits are ``Settings``.
Per-IP request rates are limited in front of the platform (Cloud Armor, ``infra/terraform``), not here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.config import Settings
from shared.errors import QuotaExceeded
from shared.ports import Clock, QuotaCounter

log = logging.getLogger(__name__)

HOUR_S = 3600
DAY_S = 86400


@dataclass(frozen=True)
class Quota:
    name: str
    """Part of the counter's id and the problem's ``code`` (``{name}_quota_exceeded``)."""
    limit: int
    window_s: int
    what: str
    """What is limited, for the problem's ``detail``."""


def enterprise_creation(settings: Settings) -> Quota:
    return Quota(
        "enterprise_creation", settings.quota_enterprises_per_user_per_day, DAY_S, "enterprises created per day"
    )


def invites(settings: Settings) -> Quota:
    return Quota("invites", settings.quota_invites_per_enterprise_per_day, DAY_S, "invites sent per day")


def connect_attempts(settings: Settings) -> Quota:
    limit = settings.quota_connect_attempts_per_enterprise_per_hour
    return Quota("connect_attempts", limit, HOUR_S, "provider key connect attempts per hour")


def spend(counter: QuotaCounter, clock: Clock, quota: Quota, subject: str) -> None:
    """Count one use of ``quota`` by ``subject`` (a uid or an enterprise id).

    Raises:
        QuotaExceeded: ``{quota.name}_quota_exceeded``, with the seconds until the window ends.
        DependencyUnavailable: the counter's database is unavailable.
    """
    retry_after = counter.take(quota.name, subject, limit=quota.limit, window_s=quota.window_s, now=clock.now())
    if retry_after is None:
        return
    log.warning("quota exceeded", extra={"quota": quota.name, "limit": quota.limit})
    raise QuotaExceeded(
        f"at most {quota.limit} {quota.what}: try again later",
        retry_after_s=retry_after,
        code=f"{quota.name}_quota_exceeded",
    )
