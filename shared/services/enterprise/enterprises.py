"""Use cases for the enterprise itself: create it, read it."""

from __future__ import annotations

import logging

from shared.domain.enterprise.callers import User
from shared.domain.enterprise.model import Enterprise, Industry, Member, Role, enterprise_id_for
from shared.errors import NotFound
from shared.ports import Clock, EnterpriseStore, QuotaCounter
from shared.services.enterprise.quotas import Quota, spend

log = logging.getLogger(__name__)


def create_enterprise(
    store: EnterpriseStore,
    clock: Clock,
    user: User,
    *,
    name: str,
    industry: Industry,
    idempotency_key: str | None,
    quota: tuple[QuotaCounter, Quota] | None = None,
) -> tuple[Enterprise, bool]:
    """Create an enterprise whose only member is ``user``, as admin.

    The id derives from the user and the idempotency key (or, without one, the name), so a retried request
    returns the enterprise the first attempt created instead of a second one (and spends no ``quota``).

    Raises:
        QuotaExceeded: ``enterprise_creation_quota_exceeded``.
    """
    now = clock.now()
    enterprise_id = enterprise_id_for(user.uid, idempotency_key or name.casefold())
    if quota is not None and store.get(enterprise_id) is None:
        counter, limits = quota
        spend(counter, clock, limits, user.uid)
    enterprise = Enterprise(
        id=enterprise_id,
        name=name,
        industry=industry,
        created_at=now,
        updated_at=now,
        created_by=user.uid,
        members={user.uid: Member(email=user.email, role=Role.ADMIN, added_at=now, email_verified=user.email_verified)},
        member_uids=[user.uid],
    )
    stored, created = store.create(enterprise)
    if created:
        log.info("enterprise created", extra={"enterprise_id": stored.id})
    return stored, created


def get_enterprise(store: EnterpriseStore, enterprise_id: str) -> Enterprise:
    enterprise = store.get(enterprise_id)
    if enterprise is None or enterprise.status != "active":
        raise NotFound("enterprise not found", code="enterprise_not_found")
    return enterprise
