"""Budgets and alert settings of an enterprise (``enterprises/{id}/budgets/current``), and the webhook target.

A budget is a monthly amount in USD for the whole enterprise, one provider, or one provider's project, with a
warning and a critical threshold in percent of the amount (defaults: ``Settings.alert_budget_warning_percent`` and
``alert_budget_critical_percent``, 75 and 90, resolved when the budget is saved). At most one budget per scope.

The webhook is split in two documents: members may read ``budgets/current``, which names only the webhook's host
and when it was configured; the URL itself (it may carry a token, as chat webhooks do) and the signing secret live
in ``enterprises/{id}/private/alert_webhook``, which no client can read (``firestore.rules``) and the API never
returns (the secret is shown once, in the response of the PUT that generated it).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.domain.alerts.records import AlertKind, AlertScope
from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.tally import Money

MAX_BUDGETS = 50
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class BudgetLevel(enum.StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def kind(self) -> AlertKind:
        return AlertKind.BUDGET_WARNING if self is BudgetLevel.WARNING else AlertKind.BUDGET_CRITICAL


class Budget(BaseModel):
    model_config = _FROZEN

    provider: ProviderName | None = None
    """``None``: every provider of the enterprise."""
    project: str | None = None
    """A project (OpenAI) or workspace (Anthropic) id of ``provider``; needs ``provider``."""
    monthly_usd: Money
    warning_percent: int
    critical_percent: int

    @property
    def scope(self) -> AlertScope:
        return AlertScope(provider=self.provider, project=self.project)

    def level(self, spend: Decimal) -> BudgetLevel | None:
        """The highest threshold ``spend`` has reached, if any."""
        if spend * 100 >= self.monthly_usd * self.critical_percent:
            return BudgetLevel.CRITICAL
        if spend * 100 >= self.monthly_usd * self.warning_percent:
            return BudgetLevel.WARNING
        return None


class BudgetDraft(BaseModel):
    """A budget as an admin submits it: thresholds left out take the platform's defaults."""

    model_config = _FROZEN

    provider: ProviderName | None = None
    project: str | None = None
    monthly_usd: Money
    warning_percent: int | None = None
    critical_percent: int | None = None

    def resolve(self, warning_default: int, critical_default: int) -> Budget:
        return Budget(
            provider=self.provider,
            project=self.project,
            monthly_usd=self.monthly_usd,
            warning_percent=self.warning_percent if self.warning_percent is not None else warning_default,
            critical_percent=self.critical_percent if self.critical_percent is not None else critical_default,
        )


class WebhookInfo(BaseModel):
    """What members may see of the configured webhook."""

    model_config = _FROZEN

    host: str
    configured_at: datetime
    secret_created_at: datetime


class AlertSettings(BaseModel):
    """``enterprises/{id}/budgets/current``."""

    model_config = _FROZEN

    budgets: list[Budget] = Field(default_factory=list, max_length=MAX_BUDGETS)
    anomaly_alerts: bool = True
    """Alert on spend spikes per provider and model (on unless an admin turns it off)."""
    webhook: WebhookInfo | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    """The uid of the admin who saved these settings last."""


DEFAULT_ALERT_SETTINGS = AlertSettings()
"""An enterprise that never saved alert settings: no budgets, anomaly alerts on, no webhook."""


class WebhookTarget(BaseModel):
    """``enterprises/{id}/private/alert_webhook``: server-only."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str
    secret: SecretStr
    """The HMAC-SHA256 signing secret (``whsec_…``): shown once, never logged, never stored when ``generation`` is
    set (it is derived on read, ``webhook_signature.derive_secret``)."""
    secret_created_at: datetime
    generation: str | None = None
    """The random id the secret is derived from; ``None`` for a secret stored in Firestore before derivation (kept,
    and still used, until the webhook's secret is next generated: a new webhook or a rotation)."""
