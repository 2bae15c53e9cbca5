"""Use case: erase one enterprise for good (GDPR): the ``enterprise_erase`` task that ``erasure_request`` enqueues.

It runs in the ``enterprise_erase`` function under the ``connect`` identity, the only one allowed to destroy
provider keys (ADR 0001). The steps are each idempotent, so a retry after a crash at any point finishes the job:

1. An enterprise still ``active`` is refused with ``DependencyUnavailable`` (503, Cloud Tasks retries): the API
   enqueues the task before it marks the enterprise ``closing`` (see ``erasure_request``). So is one closed less
   than ``Settings.erasure_settle_s`` ago: a connect or sync request that started before the enterprise closed may
   still be writing a key or usage, and must finish (its function's timeout) before the erasure reads what exists.
2. For every provider, every version of the enterprise's provider-key secret is destroyed and the secret deleted.
   Secret ids derive from (enterprise, provider) alone, so no stored reference is needed, and a key stored by a
   connect that was interrupted before it recorded the key is found too.
3. Every document below the enterprise document is deleted, a page per commit, whatever its collection.
4. The tombstone ``erasures/{id}`` (timestamps only) is written and the enterprise document deleted, in one commit.

An enterprise already gone is acknowledged (200) after steps 2-3 run again: they find nothing, unless a sync or a
connect that was running during the erasure wrote something after it, which they then erase (the retention sweep
re-enqueues the erasure when it finds such leftovers, ADR 0012). Nothing else is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.model import ProviderName
from shared.errors import DependencyUnavailable
from shared.ports import Clock, EnterpriseStore, ErasureRecord, ErasureStore, SecretStore

log = logging.getLogger(__name__)

Outcome = Literal["erased", "already_erased", "not_found"]


@dataclass(frozen=True)
class ErasureResult:
    enterprise_id: str
    outcome: Outcome
    """``erased`` now; ``already_erased`` earlier (a tombstone exists); ``not_found``: no such enterprise."""
    secret_versions_destroyed: int
    documents_deleted: int
    """Documents below the enterprise document, plus the enterprise document itself when erased now."""


def erase_enterprise(
    enterprise_id: str,
    *,
    enterprises: EnterpriseStore,
    erasures: ErasureStore,
    secrets: SecretStore,
    clock: Clock,
    page_size: int,
    settle: timedelta,
) -> ErasureResult:
    """Erase ``enterprise_id``'s secrets and documents; see the module docstring.

    Raises:
        DependencyUnavailable: ``enterprise_still_active`` (erasure not requested yet, or its request not finished),
            ``erasure_settling`` (closed less than ``settle`` ago), or a backend failed (everything done so far
            stays done; the retry continues).
    """
    enterprise = enterprises.get(enterprise_id)
    if enterprise is not None and enterprise.status == "active":
        raise DependencyUnavailable(
            "the enterprise is still active: its erasure was not requested, or the request is not finished",
            code="enterprise_still_active",
        )
    if enterprise is not None and clock.now() < (enterprise.closing_since or enterprise.updated_at) + settle:
        raise DependencyUnavailable(
            "the enterprise closed moments ago: requests started before are still finishing", code="erasure_settling"
        )
    destroyed = _erase_secrets(enterprise_id, secrets)
    deleted = _erase_documents(enterprise_id, erasures, page_size)
    if enterprise is not None:
        erasures.finish(
            ErasureRecord(
                enterprise_id=enterprise_id,
                requested_at=enterprise.closing_since or enterprise.updated_at,
                erased_at=clock.now(),
            )
        )
        outcome: Outcome = "erased"
        deleted += 1
    else:
        outcome = "already_erased" if erasures.record(enterprise_id) is not None else "not_found"
    result = ErasureResult(enterprise_id, outcome, destroyed, deleted)
    log.info(
        "enterprise erasure done",
        extra={
            "enterprise_id": enterprise_id,
            "outcome": outcome,
            "secret_versions_destroyed": destroyed,
            "documents_deleted": deleted,
        },
    )
    return result


def _erase_secrets(enterprise_id: str, secrets: SecretStore) -> int:
    destroyed = 0
    for provider in ProviderName:
        secret_id = secret_id_for(enterprise_id, provider.value)
        destroyed += secrets.destroy_all_versions(secret_id)
        secrets.delete_secret(secret_id)
    return destroyed


def _erase_documents(enterprise_id: str, erasures: ErasureStore, page_size: int) -> int:
    deleted = 0
    while page := erasures.delete_page(enterprise_id, limit=page_size):
        deleted += page
    return deleted
