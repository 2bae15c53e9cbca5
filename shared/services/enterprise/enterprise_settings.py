"""Use case: an admin changes the enterprise's name, industry or settings.

Opting in or out of the anonymous peer benchmark changes what the enterprise shares with others, so that change is
written to the audit log in the same transaction as the setting itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.domain.enterprise.audit import Actor, AuditAction
from shared.domain.enterprise.callers import User
from shared.domain.enterprise.events import event_entry
from shared.domain.enterprise.members import non_member_addresses
from shared.domain.enterprise.model import Enterprise, EnterpriseSettings, Industry
from shared.errors import InvalidInput, NotFound
from shared.ports import Clock, EnterpriseChange, EnterpriseStore

log = logging.getLogger(__name__)

AUDITED_SETTINGS = ("share_anonymous_benchmarks",)
"""Settings whose every change is written to the audit log."""


def update_enterprise(
    store: EnterpriseStore,
    clock: Clock,
    actor: User,
    enterprise_id: str,
    *,
    name: str | None = None,
    industry: Industry | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Enterprise:
    """Apply the given changes (``None``: unchanged); ``settings`` holds only the settings to change.

    Raises:
        NotFound: ``enterprise_not_found`` (missing or closing).
        pydantic.ValidationError: ``settings`` names an unknown setting or an invalid value (a bug in the caller:
            the API validates the request first).
    """
    now = clock.now()

    def apply(enterprise: Enterprise) -> EnterpriseChange | None:
        if enterprise.status != "active":
            raise NotFound("enterprise not found", code="enterprise_not_found")
        new_settings = EnterpriseSettings.model_validate({**enterprise.settings.model_dump(), **(settings or {})})
        if settings and "report_recipients" in settings:
            strangers = non_member_addresses(enterprise, [str(r) for r in new_settings.report_recipients])
            if strangers:
                raise InvalidInput(
                    "report recipients must be members of the enterprise: invite them first",
                    code="recipient_not_member",
                )
        updated = enterprise.model_copy(
            update={
                "name": enterprise.name if name is None else name,
                "industry": enterprise.industry if industry is None else industry,
                "settings": new_settings,
            }
        )
        if updated == enterprise:
            return None
        audit = [
            event_entry(
                AuditAction.SETTING_CHANGED,
                actor=Actor.user(actor.uid, actor.email),
                at=now,
                target=field,
                before=getattr(enterprise.settings, field),
                after=getattr(new_settings, field),
            )
            for field in AUDITED_SETTINGS
            if getattr(enterprise.settings, field) != getattr(new_settings, field)
        ]
        return EnterpriseChange(updated.model_copy(update={"updated_at": now}), audit)

    enterprise = store.update(enterprise_id, apply)
    log.info("enterprise updated", extra={"enterprise_id": enterprise_id})
    return enterprise
