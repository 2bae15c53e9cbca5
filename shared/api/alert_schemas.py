"""Request and response models of budgets, alert settings and the alert history (``api`` function).

Inputs forbid unknown fields. Money is a decimal string in responses (a number or a string in requests, at most
two decimal places), never a float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.api.fields import PageToken, ShortText
from shared.domain.alerts.budgets import MAX_BUDGETS, AlertSettings, Budget, BudgetDraft
from shared.domain.alerts.records import Alert, AlertFigures, AlertKind, DeliveryState
from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.tally import Money
from shared.services.alerts.alert_history import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

Percent = Annotated[int, Field(ge=1, le=1000)]


class BudgetInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: ProviderName | None = None
    """Leave out for a budget of the whole enterprise."""
    project: ShortText | None = None
    """An OpenAI project or Anthropic workspace id (``(default)`` for unattributed usage); needs ``provider``."""
    monthly_usd: Decimal = Field(gt=0, le=Decimal(1_000_000_000), max_digits=12, decimal_places=2)
    warning_percent: Percent | None = None
    """Default: the platform's (75)."""
    critical_percent: Percent | None = None
    """Default: the platform's (90); must be above ``warning_percent``."""

    @model_validator(mode="after")
    def _project_needs_provider(self) -> BudgetInput:
        if self.project is not None and self.provider is None:
            raise ValueError("a project budget names its provider")
        return self

    def draft(self) -> BudgetDraft:
        return BudgetDraft.model_validate(self.model_dump())


class BudgetsRequest(BaseModel):
    """The enterprise's whole alert configuration: the budgets listed replace the previous ones."""

    model_config = ConfigDict(extra="forbid")

    budgets: list[BudgetInput] = Field(max_length=MAX_BUDGETS)
    """At most one per scope (enterprise, provider, provider and project)."""
    anomaly_alerts: bool = True
    """Alert on daily spend spikes per provider and model."""
    webhook_url: str | None = Field(default=None, max_length=2048)
    """Leave out to keep the current webhook; ``null`` removes it. ``https`` only, to a public host. Alerts are
    POSTed there as JSON, signed with HMAC-SHA256 (``X-Usage-Alert-Signature``)."""
    rotate_webhook_secret: bool = False
    """Generate a new signing secret (returned once, in this response)."""


class BudgetView(BaseModel):
    provider: ProviderName | None
    project: str | None
    scope: str
    """For people: ``all providers``, ``OpenAI``, ``OpenAI project proj_…``."""
    monthly_usd: Money
    warning_percent: int
    critical_percent: int

    @classmethod
    def of(cls, budget: Budget) -> BudgetView:
        return cls(
            provider=budget.provider,
            project=budget.project,
            scope=budget.scope.label,
            monthly_usd=budget.monthly_usd,
            warning_percent=budget.warning_percent,
            critical_percent=budget.critical_percent,
        )


class WebhookView(BaseModel):
    host: str
    """The webhook's host; its full URL (which may hold a token) is never shown again."""
    configured_at: datetime
    secret_created_at: datetime


class BudgetsResponse(BaseModel):
    budgets: list[BudgetView]
    anomaly_alerts: bool
    webhook: WebhookView | None
    signing_secret: str | None = None
    """The webhook's new signing secret: only in the response of the save that generated it. Store it now."""
    updated_at: datetime | None
    default_warning_percent: int
    default_critical_percent: int

    @classmethod
    def of(
        cls, settings: AlertSettings, *, warning: int, critical: int, signing_secret: str | None = None
    ) -> BudgetsResponse:
        hook = settings.webhook
        return cls(
            budgets=[BudgetView.of(b) for b in settings.budgets],
            anomaly_alerts=settings.anomaly_alerts,
            webhook=WebhookView.model_validate(hook.model_dump()) if hook else None,
            signing_secret=signing_secret,
            updated_at=settings.updated_at,
            default_warning_percent=warning,
            default_critical_percent=critical,
        )


class AlertsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    page_token: PageToken | None = None
    """``next_page_token`` of the previous page."""


class DeliveryView(BaseModel):
    state: DeliveryState
    attempts: int
    sent_at: datetime | None
    last_error: str | None


class AlertScopeView(BaseModel):
    provider: ProviderName | None
    project: str | None
    model: str | None
    label: str


class AlertView(BaseModel):
    id: str
    kind: AlertKind
    period: str
    """``YYYY-MM`` (budgets) or ``YYYY-MM-DD`` (spend spikes)."""
    scope: AlertScopeView
    figures: AlertFigures
    created_at: datetime
    channels: dict[str, DeliveryView]
    """``email`` and, when a webhook was configured, ``webhook``."""

    @classmethod
    def of(cls, alert: Alert) -> AlertView:
        return cls(
            id=alert.id,
            kind=alert.kind,
            period=alert.period,
            scope=AlertScopeView(label=alert.scope.label, **alert.scope.model_dump()),
            figures=alert.figures,
            created_at=alert.created_at,
            channels={c.value: DeliveryView.model_validate(d.model_dump()) for c, d in sorted(alert.channels.items())},
        )


class AlertsResponse(BaseModel):
    alerts: list[AlertView]
    next_page_token: str | None
    """Pass as ``page_token`` for the next (older) page; ``None`` on the last page."""
