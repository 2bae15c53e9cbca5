"""Who is calling: a signed-in end user, or an internal caller (Cloud Scheduler, Cloud Tasks) by its service account.

The web layer's identity adapters (``shared.adapters.identity``) verify tokens into these; use cases take them as
plain values, so they depend on no verifier.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    """A signed-in end user."""

    uid: str
    email: str | None
    email_verified: bool
    authenticated_at: float | None = None
    """When the user signed in (``auth_time``, else ``iat``), epoch seconds: what revocation is judged against."""


@dataclass(frozen=True)
class ServiceCaller:
    """An internal caller (Cloud Scheduler or Cloud Tasks) identified by its service account."""

    email: str
