"""Destroy a provider key's version some days after a rotation replaced it.

A rotation disables the replaced version at once (nothing can read it), but Secret Manager bills disabled versions
like enabled ones; destroyed versions are free (https://cloud.google.com/secret-manager/pricing). So the rotation
also enqueues a named ``key_retire`` task, delivered ``Settings.superseded_version_grace_days`` later, which
destroys the version if it is still disabled: an operator who re-enabled it during the grace keeps it.

The task runs in the ``key_retire`` function under the ``connect`` identity, the only one allowed to destroy
provider keys. It destroys only a version of the secret of the (enterprise, provider) it names, never the version
the connection currently uses, and a retry or duplicate delivery changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.model import ProviderName
from shared.errors import InvalidInput
from shared.ports import ProviderConnectionStore, SecretStore, SecretVersionRef, TaskSpec

log = logging.getLogger(__name__)

RETIRE_FUNCTION = "key_retire"
Outcome = Literal["destroyed", "kept", "current"]


@dataclass(frozen=True)
class RetireResult:
    outcome: Outcome
    """``destroyed``; ``kept`` (re-enabled meanwhile, already destroyed or gone); ``current`` (still in use)."""


def retire_task(enterprise_id: str, provider: ProviderName, ref: SecretVersionRef, due: datetime) -> TaskSpec:
    """The task destroying ``ref`` at ``due``, named from the version: a repeated rotation step names the same task."""
    base = f"retire-{enterprise_id}-{provider.value}-v{ref.version}"
    return TaskSpec(
        name=f"{hashlib.sha256(base.encode()).hexdigest()[:8]}-{base}",
        function=RETIRE_FUNCTION,
        payload={"enterprise_id": enterprise_id, "provider": provider.value, "version": ref.name},
        schedule_time=due,
    )


def retire_key_version(
    enterprise_id: str,
    provider: ProviderName,
    version_name: str,
    *,
    secrets: SecretStore,
    connections: ProviderConnectionStore,
) -> RetireResult:
    """Destroy ``version_name`` if it is a disabled, superseded version of this enterprise's key for ``provider``.

    Raises:
        InvalidInput: The version does not belong to that enterprise's key (a bug in the caller: never retried).
        DependencyUnavailable: Secret Manager or Firestore failed (the task is retried).
    """
    ref = SecretVersionRef(name=version_name)
    if ref.secret_id != secret_id_for(enterprise_id, provider.value):
        raise InvalidInput("the version is not one of this provider key's", code="version_not_of_key")
    context = {"enterprise_id": enterprise_id, "provider": provider.value, "version": ref.version}
    record = connections.key_record(enterprise_id, provider)
    if record is not None and record.secret_version == version_name:
        log.warning("superseded key version is in use again; kept", extra=context)
        return RetireResult("current")
    destroyed = secrets.destroy_if_disabled(ref)
    log.info("superseded key version retired" if destroyed else "superseded key version kept", extra=context)
    return RetireResult("destroyed" if destroyed else "kept")
