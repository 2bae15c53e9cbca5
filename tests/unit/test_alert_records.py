"""Alert records (``shared.domain.alerts.records``): one id per (kind, period, scope), and the delivery state
machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.domain.alerts.records import (
    AlertCandidate,
    AlertFigures,
    AlertKind,
    AlertScope,
    Channel,
    Delivery,
    DeliveryState,
    claim,
    new_alert,
    settle,
)
from shared.domain.enterprise.model import ProviderName

NOW = datetime(2026, 11, 23, 2, 5, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def candidate(model: str = "ft:gpt-4o:acme/v2", period: str = "2026-11-20") -> AlertCandidate:
    return AlertCandidate(
        kind=AlertKind.SPEND_ANOMALY,
        period=period,
        scope=AlertScope(provider=ProviderName.OPENAI, model=model),
        figures=AlertFigures(spend_usd=Decimal("900")),
    )


def test_ids_come_from_kind_period_and_scope_and_are_safe_document_ids() -> None:
    assert candidate().id == candidate().id
    assert candidate().id != candidate(model="gpt-4o").id
    assert candidate().id != candidate(period="2026-11-21").id
    assert candidate().id.startswith("spend_anomaly-2026-11-20-")
    assert "/" not in candidate().id
    assert AlertScope().key == "all"
    assert AlertScope().label == "all providers"
    project = AlertScope(provider=ProviderName.ANTHROPIC, project="wrkspc_1")
    assert (project.key, project.label) == ("provider=anthropic;project=wrkspc_1", "Anthropic project wrkspc_1")


def test_a_channel_is_claimed_once_sent_once_and_then_never_again() -> None:
    alert = new_alert(candidate(), channels={Channel.EMAIL: Delivery()}, now=NOW, retention_months=24)
    assert alert.open
    assert alert.expire_at == datetime(2028, 11, 23, 2, 5, tzinfo=UTC)
    claimed = claim(alert, Channel.EMAIL, now=NOW, lease=LEASE, max_attempts=3)
    assert claimed is not None
    assert claimed.channels[Channel.EMAIL].state is DeliveryState.SENDING
    assert claim(claimed, Channel.EMAIL, now=NOW, lease=LEASE, max_attempts=3) is None, "leased to its sender"
    sent = settle(claimed, Channel.EMAIL, "sent", now=NOW)
    assert (sent.channels[Channel.EMAIL].state, sent.open) == (DeliveryState.SENT, False)
    assert claim(sent, Channel.EMAIL, now=NOW + timedelta(days=1), lease=LEASE, max_attempts=3) is None
    assert settle(sent, Channel.EMAIL, "retry", now=NOW, code="late") == sent, "sent stays sent"


def test_a_failed_attempt_returns_to_pending_until_the_attempts_run_out() -> None:
    alert = new_alert(candidate(), channels={Channel.WEBHOOK: Delivery()}, now=NOW, retention_months=24)
    for attempt in (1, 2):
        alert = claim(alert, Channel.WEBHOOK, now=NOW, lease=LEASE, max_attempts=2) or alert
        assert alert.channels[Channel.WEBHOOK].attempts == attempt
        alert = settle(alert, Channel.WEBHOOK, "retry", now=NOW, code="dependency_unavailable")
        assert alert.channels[Channel.WEBHOOK].state is DeliveryState.PENDING
    exhausted = claim(alert, Channel.WEBHOOK, now=NOW, lease=LEASE, max_attempts=2)
    assert exhausted is not None
    assert (exhausted.channels[Channel.WEBHOOK].state, exhausted.open) == (DeliveryState.FAILED, False)


def test_a_sender_that_died_is_taken_over_after_its_lease() -> None:
    alert = new_alert(candidate(), channels={Channel.EMAIL: Delivery()}, now=NOW, retention_months=24)
    claimed = claim(alert, Channel.EMAIL, now=NOW, lease=LEASE, max_attempts=3)
    assert claimed is not None
    assert claim(claimed, Channel.EMAIL, now=NOW + LEASE - timedelta(seconds=1), lease=LEASE, max_attempts=3) is None
    again = claim(claimed, Channel.EMAIL, now=NOW + LEASE + timedelta(seconds=1), lease=LEASE, max_attempts=3)
    assert again is not None
    assert again.channels[Channel.EMAIL].attempts == 2
