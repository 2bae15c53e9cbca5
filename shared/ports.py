"""Ports: small interfaces named for the capability the services need.

Adapters in ``shared/adapters`` implement them for a technology (Firestore, Secret Manager, Cloud Tasks, SMTP,
provider HTTP APIs); tests implement them with behaving fakes (``tests/support/fakes.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any, Protocol

from pydantic import SecretStr

from shared.domain.enterprise import Enterprise, Membership
from shared.domain.usage import OrgIdentity, Provider, ProviderPull


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


# --- Provider usage -------------------------------------------------------------------------------------------


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

    async def pull(self, start: date, end_exclusive: date) -> ProviderPull:
        """Every UTC day of ``[start, end_exclusive)``, normalised, list-priced and reconciled."""
        ...
