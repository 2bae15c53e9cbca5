"""Use cases of budgets and alert settings: members read them, admins replace them.

A save replaces the budgets and the anomaly switch. The webhook follows its own rules, because its URL may carry a
token and its secret is shown once:

* ``webhook_url`` left out: the webhook stays as it is; ``null``: it is removed, with its secret;
* a URL given where none was, or ``rotate_webhook_secret``: a new signing secret is generated here (server side: a
  random generation, the secret derived from it under ``Settings.webhook_signing_key``) and returned in that
  response only. Changing the URL keeps the secret.

Webhook changes (URL set, changed or removed; secret created or rotated) are written to the audit log in the same
transaction, naming the host only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr

from shared.config import Settings
from shared.domain.alerts.budgets import (
    DEFAULT_ALERT_SETTINGS,
    AlertSettings,
    Budget,
    BudgetDraft,
    WebhookInfo,
    WebhookTarget,
)
from shared.domain.alerts.webhook_signature import derive_secret, new_generation
from shared.domain.alerts.webhook_url import check_webhook_url, webhook_host
from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry
from shared.domain.enterprise.callers import User
from shared.domain.enterprise.events import event_entry
from shared.errors import Conflict, ValidationFailed
from shared.ports import AlertSettingsChange, AlertSettingsStore, Clock

log = logging.getLogger(__name__)


class _Unchanged:
    """The webhook URL was left out of the request."""


UNCHANGED = _Unchanged()


@dataclass(frozen=True)
class SavedAlertSettings:
    settings: AlertSettings
    signing_secret: SecretStr | None
    """The new webhook signing secret, when this save generated one; shown to the admin once."""


def get_alert_settings(store: AlertSettingsStore, enterprise_id: str) -> AlertSettings:
    return store.get(enterprise_id) or DEFAULT_ALERT_SETTINGS


def save_alert_settings(
    store: AlertSettingsStore,
    clock: Clock,
    settings: Settings,
    actor: User,
    enterprise_id: str,
    *,
    budgets: Sequence[BudgetDraft],
    anomaly_alerts: bool,
    webhook_url: str | _Unchanged | None = UNCHANGED,
    rotate_webhook_secret: bool = False,
) -> SavedAlertSettings:
    """Replace ``enterprise_id``'s alert settings.

    Raises:
        ValidationFailed: a threshold pair out of order, or two budgets for one scope (``invalid_budgets``).
        InvalidInput: ``invalid_webhook_url`` (not https, or an address inside our network; see
            ``shared.domain.alerts.webhook_url``).
        Conflict: ``no_webhook``: a secret rotation asked for with no webhook configured.
    """
    resolved = [
        b.resolve(settings.alert_budget_warning_percent, settings.alert_budget_critical_percent) for b in budgets
    ]
    _check_budgets(resolved)
    if isinstance(webhook_url, str):
        check_webhook_url(webhook_url, local_mode=settings.local_mode)
    now = clock.now()
    generation = new_generation()
    fresh = derive_secret(settings.webhook_signing_key, enterprise_id, generation)
    who = Actor.user(actor.uid, actor.email)

    def change(current: AlertSettings | None, target: WebhookTarget | None) -> AlertSettingsChange:
        url = target.url if target else None
        if not isinstance(webhook_url, _Unchanged):
            url = webhook_url
        if url is None:
            if rotate_webhook_secret:
                raise Conflict("there is no webhook whose secret could be rotated", code="no_webhook")
            new_target = None
        elif target is None or rotate_webhook_secret:
            new_target = WebhookTarget(url=url, secret=fresh, secret_created_at=now, generation=generation)
        else:
            new_target = target.model_copy(update={"url": url})
        info = None
        if new_target is not None:
            previous = current.webhook if current else None
            same_url = target is not None and target.url == new_target.url and previous is not None
            info = WebhookInfo(
                host=webhook_host(new_target.url),
                configured_at=previous.configured_at if same_url and previous else now,
                secret_created_at=new_target.secret_created_at,
            )
        new_settings = AlertSettings(
            budgets=resolved, anomaly_alerts=anomaly_alerts, webhook=info, updated_at=now, updated_by=actor.uid
        )
        return AlertSettingsChange(new_settings, new_target, _audit(target, new_target, who, now))

    result = store.update(enterprise_id, change)
    generated = result.webhook is not None and result.webhook.secret.get_secret_value() == fresh.get_secret_value()
    log.info(
        "alert settings replaced",
        extra={"enterprise_id": enterprise_id, "budgets": len(resolved), "webhook_secret_generated": generated},
    )
    return SavedAlertSettings(result.settings, fresh if generated else None)


def _check_budgets(budgets: Sequence[Budget]) -> None:
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for i, budget in enumerate(budgets):
        if budget.warning_percent >= budget.critical_percent:
            problems[f"body.budgets.{i}.warning_percent"] = "must be below critical_percent"
        key = budget.scope.key
        if key in seen:
            problems[f"body.budgets.{i}"] = "another budget has the same provider and project"
        seen.add(key)
    if problems:
        raise ValidationFailed("the budgets are not consistent", problems, code="invalid_budgets")


def _audit(before: WebhookTarget | None, after: WebhookTarget | None, actor: Actor, now: datetime) -> list[AuditEntry]:
    entries = []
    if (before.url if before else None) != (after.url if after else None):
        entries.append(
            event_entry(
                AuditAction.SETTING_CHANGED,
                actor=actor,
                at=now,
                target="alert_webhook",
                before=webhook_host(before.url) if before else None,
                after=webhook_host(after.url) if after else None,
            )
        )
    if after is not None and (before is None or before.secret.get_secret_value() != after.secret.get_secret_value()):
        entries.append(
            event_entry(
                AuditAction.SETTING_CHANGED,
                actor=actor,
                at=now,
                target="alert_webhook_secret",
                after="created" if before is None else "rotated",
            )
        )
    return entries
