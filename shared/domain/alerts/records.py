"""Alerts (``enterprises/{id}/alerts/{alert_id}``): what crossed or spiked, and whether each channel has been told.

An alert is identified by its domain key, ``(kind, period, scope)``: ``budget_warning`` / ``budget_critical`` of a
budget scope in a month (``YYYY-MM``), ``spend_anomaly`` of a provider's model on a day (``YYYY-MM-DD``). The
document id derives from that key, so however often a sync finds the same condition, one document holds it: the
record is created if absent *before* anything is sent.

Each channel (email, webhook) carries a delivery state::

    pending ──claim──▶ sending ──sent──▶ sent                     (final: never sent again)
       ▲                  │  │ └──refused──▶ failed                (final: permanent refusal, or attempts exhausted)
       └──────retry───────┘  │                                     skipped (final: nobody to send to)
                  queued ◀───┘ (webhook) ──claim by its task──▶ sending

A claim is a transaction: only the caller that moves the channel to ``sending`` sends, and its lease
(``lease_until``) lets a later sync take over if it died mid-send. A transient email failure returns the channel to
``pending`` and the next sync tries again, up to ``max_attempts`` claims. A transient webhook failure hands the
channel to a Cloud Tasks task (``queued``): only that task claims a queued channel (``from_queue``), so the syncs
leave it alone and the queue's backoff paces the retries (``shared.services.alerts.webhook_retry``).
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.connections.provider_keys import display_name
from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.snapshot import add_months
from shared.domain.usage.tally import Money, Ratio


class AlertKind(enum.StrEnum):
    BUDGET_WARNING = "budget_warning"
    BUDGET_CRITICAL = "budget_critical"
    SPEND_ANOMALY = "spend_anomaly"


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    QUEUED = "queued"
    """Handed to a ``webhook_deliver`` task: only that task sends it again."""
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


FINAL_STATES = frozenset({DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED})

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Delivery(BaseModel):
    """One channel's delivery of one alert."""

    model_config = _FROZEN

    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    """Claims so far (each one a send attempt)."""
    lease_until: datetime | None = None
    """While ``sending``: until when the claiming sync owns the send."""
    sent_at: datetime | None = None
    last_error: str | None = None
    """Stable code of the last failed attempt (``dependency_unavailable``, ``webhook_rejected``…)."""


class AlertScope(BaseModel):
    """What an alert is about: the whole enterprise, a provider, a provider's project, or a provider's model."""

    model_config = _FROZEN

    provider: ProviderName | None = None
    project: str | None = None
    """An OpenAI project or Anthropic workspace id, as in ``by_project`` (``(default)`` when unattributed)."""
    model: str | None = None

    @property
    def key(self) -> str:
        """Canonical text of the scope: ``all``, ``provider=openai``, ``provider=openai;model=gpt-4o``…"""
        if self.provider is None:
            return "all"
        parts = [f"provider={self.provider.value}"]
        if self.project is not None:
            parts.append(f"project={self.project}")
        if self.model is not None:
            parts.append(f"model={self.model}")
        return ";".join(parts)

    @property
    def label(self) -> str:
        """For people: ``all providers``, ``OpenAI``, ``OpenAI project proj_x``, ``OpenAI gpt-4o``."""
        if self.provider is None:
            return "all providers"
        name = display_name(self.provider)
        if self.project is not None:
            return f"{name} project {self.project}"
        if self.model is not None:
            return f"{name} {self.model}"
        return name


class AlertFigures(BaseModel):
    """The amounts behind an alert (USD); which ones are set depends on the kind."""

    model_config = _FROZEN

    spend_usd: Money
    """Budgets: spend of the month so far. Anomalies: spend of the day."""
    budget_usd: Money | None = None
    threshold_percent: int | None = None
    """The budget threshold crossed (warning or critical)."""
    percent_of_budget: Ratio | None = None
    """``spend / budget × 100``, to 0.01."""
    forecast_usd: Money | None = None
    """Budgets: the month-end forecast of the scope (``shared.domain.usage.forecast``) when the month is the current
    one."""
    forecast_method: str | None = None
    baseline_median_usd: Money | None = None
    """Anomalies: the median daily spend of the baseline window."""
    baseline_mad_usd: Money | None = None
    baseline_days: int | None = None
    excess_usd: Money | None = None
    """Anomalies: spend above the baseline median."""


class AlertCandidate(BaseModel):
    """A condition found by the rules: alerting on it is idempotent by ``id``."""

    model_config = _FROZEN

    kind: AlertKind
    period: str
    scope: AlertScope
    figures: AlertFigures

    @property
    def id(self) -> str:
        return alert_id(self.kind, self.period, self.scope)


class Alert(AlertCandidate):
    """``enterprises/{id}/alerts/{alert_id}``."""

    alert_id: str
    created_at: datetime
    expire_at: datetime
    """Firestore TTL field: alerts are kept as long as usage snapshots."""
    channels: dict[Channel, Delivery]
    open: bool
    """Some channel is not final yet (stored so open alerts are one equality query)."""

    @property
    def id(self) -> str:
        return self.alert_id


def alert_id(kind: AlertKind, period: str, scope: AlertScope) -> str:
    """``{kind}-{period}-{hash of the scope}``: scopes hold model and project names, which may contain ``/``."""
    digest = hashlib.sha256(scope.key.encode()).hexdigest()[:16]
    return f"{kind.value}-{period}-{digest}"


def _is_open(channels: dict[Channel, Delivery]) -> bool:
    return any(d.state not in FINAL_STATES for d in channels.values())


def new_alert(
    candidate: AlertCandidate, *, channels: dict[Channel, Delivery], now: datetime, retention_months: int
) -> Alert:
    """The record to create for ``candidate``, with the channels it is to be delivered on."""
    return Alert(
        alert_id=candidate.id,
        kind=candidate.kind,
        period=candidate.period,
        scope=candidate.scope,
        figures=candidate.figures,
        created_at=now,
        expire_at=datetime.combine(add_months(now.date(), retention_months), now.timetz()),
        channels=channels,
        open=_is_open(channels),
    )


def _with(alert: Alert, channel: Channel, delivery: Delivery) -> Alert:
    channels = {**alert.channels, channel: delivery}
    return alert.model_copy(update={"channels": channels, "open": _is_open(channels)})


def claim(
    alert: Alert, channel: Channel, *, now: datetime, lease: timedelta, max_attempts: int, from_queue: bool = False
) -> Alert | None:
    """``alert`` with ``channel`` claimed for sending by the caller, or ``None`` when there is nothing to claim.

    A ``pending`` channel (``queued`` when ``from_queue``: the caller is the channel's retry task), or a ``sending``
    one whose lease has run out (its sender died), is claimed: ``sending``, one more attempt, leased until
    ``now + lease``. One that has used its ``max_attempts`` becomes ``failed`` instead (the returned alert is then
    not a claim: check the channel's state).
    """
    delivery = alert.channels.get(channel)
    if delivery is None or delivery.state in FINAL_STATES:
        return None
    waiting = DeliveryState.QUEUED if from_queue else DeliveryState.PENDING
    if delivery.state not in (waiting, DeliveryState.SENDING):
        return None
    if delivery.state is DeliveryState.SENDING and delivery.lease_until is not None and delivery.lease_until > now:
        return None
    if delivery.attempts >= max_attempts:
        failed = delivery.model_copy(
            update={"state": DeliveryState.FAILED, "lease_until": None, "last_error": "attempts_exhausted"}
        )
        return _with(alert, channel, failed)
    claimed = delivery.model_copy(
        update={"state": DeliveryState.SENDING, "attempts": delivery.attempts + 1, "lease_until": now + lease}
    )
    return _with(alert, channel, claimed)


Outcome = Literal["sent", "retry", "queued", "failed", "skipped"]


def settle(alert: Alert, channel: Channel, outcome: Outcome, *, now: datetime, code: str | None = None) -> Alert:
    """``alert`` after a send attempt on ``channel``: sent, to retry on a later sync, handed to its retry task
    (``queued``), failed for good, or skipped."""
    delivery = alert.channels[channel]
    if delivery.state is DeliveryState.SENT:
        return alert  # sent stays sent, whatever a late competitor reports
    state = {
        "sent": DeliveryState.SENT,
        "retry": DeliveryState.PENDING,
        "queued": DeliveryState.QUEUED,
        "failed": DeliveryState.FAILED,
        "skipped": DeliveryState.SKIPPED,
    }[outcome]
    settled = delivery.model_copy(
        update={
            "state": state,
            "lease_until": None,
            "sent_at": now if outcome == "sent" else delivery.sent_at,
            "last_error": code if outcome in ("retry", "queued", "failed") else delivery.last_error,
        }
    )
    return _with(alert, channel, settled)
