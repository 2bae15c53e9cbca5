"""The alert stores on the Firestore emulator: create-if-absent, one claim among concurrent syncs, newest-first pages,
and alert settings whose webhook URL and secret stay in the server-only document."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from shared.adapters.firestore_alerts import FirestoreAlerts
from shared.adapters.firestore_audit import FirestoreAuditLog
from shared.adapters.firestore_budgets import FirestoreAlertSettings
from shared.domain.alerts.budgets import AlertSettings, Budget, WebhookInfo, WebhookTarget
from shared.domain.alerts.records import (
    AlertCandidate,
    AlertFigures,
    AlertKind,
    AlertScope,
    Channel,
    Delivery,
    DeliveryState,
    new_alert,
)
from shared.domain.alerts.webhook_signature import derive_secret
from shared.domain.enterprise.audit import Actor, AuditAction
from shared.domain.enterprise.events import event_entry
from shared.domain.enterprise.model import ProviderName
from shared.errors import DependencyUnavailable
from shared.ports import AlertSettingsChange

EID = "ent_alerts_it"
NOW = datetime(2026, 11, 23, 2, 5, tzinfo=UTC)


def _alert(period: str, at: datetime, model: str = "gpt-4o") -> Any:
    candidate = AlertCandidate(
        kind=AlertKind.SPEND_ANOMALY,
        period=period,
        scope=AlertScope(provider=ProviderName.OPENAI, model=model),
        figures=AlertFigures(spend_usd=Decimal("812.40"), baseline_median_usd=Decimal("120.5")),
    )
    channels = {Channel.EMAIL: Delivery(), Channel.WEBHOOK: Delivery()}
    return new_alert(candidate, channels=channels, now=at, retention_months=24)


def test_an_alert_is_created_once_and_stored_with_decimal_strings(firestore_db: Any) -> None:
    store = FirestoreAlerts(firestore_db)
    alert = _alert("2026-11-20", NOW)
    assert store.create(EID, alert) == (alert, True)
    later = _alert("2026-11-20", NOW + timedelta(hours=5))
    assert store.create(EID, later) == (alert, False), "the first record wins; nothing is replaced"

    raw = firestore_db.document(f"enterprises/{EID}/alerts/{alert.id}").get().to_dict()
    assert raw["figures"]["spend_usd"] == "812.40"
    assert isinstance(raw["created_at"], datetime)
    assert raw["open"] is True


def test_of_many_concurrent_claims_exactly_one_wins(firestore_db: Any) -> None:
    store = FirestoreAlerts(firestore_db)
    alert = _alert("2026-11-20", NOW)
    store.create(EID, alert)

    def claim(_: int) -> Any:
        try:
            return store.claim(EID, alert.id, Channel.EMAIL, now=NOW, lease_s=600, max_attempts=5)
        except DependencyUnavailable:
            return None  # lost every transaction attempt: the next sync delivers, as in production

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(claim, range(6)))

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].channels[Channel.EMAIL].state is DeliveryState.SENDING
    store.settle(EID, alert.id, Channel.EMAIL, "sent", now=NOW, code=None)
    store.settle(EID, alert.id, Channel.WEBHOOK, "skipped", now=NOW, code=None)
    assert store.open_alerts(EID, limit=10) == []
    [stored] = store.page(EID, limit=10, after=None).alerts
    assert (stored.channels[Channel.EMAIL].state, stored.channels[Channel.EMAIL].attempts) == (DeliveryState.SENT, 1)


def test_alerts_are_paged_newest_first_and_only_open_ones_are_pending(firestore_db: Any) -> None:
    store = FirestoreAlerts(firestore_db)
    for n in range(5):
        store.create(EID, _alert(f"2026-11-{10 + n}", NOW + timedelta(minutes=n)))
    store.create("ent_other", _alert("2026-11-30", NOW + timedelta(days=1)))
    first = store.page(EID, limit=2, after=None)
    second = store.page(EID, limit=2, after=first.next)
    third = store.page(EID, limit=2, after=second.next)
    periods = [a.period for a in [*first.alerts, *second.alerts, *third.alerts]]
    assert periods == ["2026-11-14", "2026-11-13", "2026-11-12", "2026-11-11", "2026-11-10"]
    assert third.next is None
    assert len(store.open_alerts(EID, limit=3)) == 3


KEY = SecretStr("webhook-signing-key-of-the-integration-tests")


def test_settings_keep_the_webhook_url_and_secret_out_of_the_members_document(firestore_db: Any) -> None:
    """The target here is one saved before secrets were derived (a stored ``secret``, no generation): it keeps
    working, and a derived one is below."""
    store = FirestoreAlertSettings(firestore_db, KEY)
    url = "https://hooks.example.com/services/T0/B0/token-in-path"
    secret = SecretStr("whsec_integration-secret-0000000000000000000")
    settings = AlertSettings(
        budgets=[Budget(monthly_usd=Decimal("1234.56"), warning_percent=75, critical_percent=90)],
        webhook=WebhookInfo(host="hooks.example.com", configured_at=NOW, secret_created_at=NOW),
        updated_at=NOW,
        updated_by="uid_admin",
    )
    target = WebhookTarget(url=url, secret=secret, secret_created_at=NOW)
    entry = event_entry(
        AuditAction.SETTING_CHANGED, actor=Actor.user("uid_admin", None), at=NOW, target="alert_webhook"
    )
    seen: list[Any] = []

    def change(current: AlertSettings | None, existing: WebhookTarget | None) -> AlertSettingsChange:
        seen.append((current, existing))
        return AlertSettingsChange(settings, target, [entry])

    store.update(EID, change)

    assert seen[-1] == (None, None)
    assert store.get(EID) == settings
    assert store.webhook(EID) == target
    public = firestore_db.document(f"enterprises/{EID}/budgets/current").get().to_dict()
    assert "token-in-path" not in str(public)
    assert "whsec_" not in str(public)
    assert public["budgets"][0]["monthly_usd"] == "1234.56"
    assert [e.id for e in FirestoreAuditLog(firestore_db).page(EID, limit=5, after=None).entries] == [entry.id]

    store.update(
        EID, lambda current, existing: AlertSettingsChange(settings.model_copy(update={"webhook": None}), None)
    )
    assert store.webhook(EID) is None
    assert not firestore_db.document(f"enterprises/{EID}/private/alert_webhook").get().exists


def test_a_derived_secret_is_stored_as_its_generation_only_and_a_legacy_one_is_dropped_when_regenerated(
    firestore_db: Any,
) -> None:
    store = FirestoreAlertSettings(firestore_db, KEY)
    settings = AlertSettings(budgets=[], updated_at=NOW, updated_by="uid_admin")
    legacy = WebhookTarget(
        url="https://hooks.example.com/a", secret=SecretStr("whsec_legacy-0000"), secret_created_at=NOW
    )
    store.update(EID, lambda current, existing: AlertSettingsChange(settings, legacy))
    assert store.webhook(EID) == legacy

    secret = derive_secret(KEY, EID, "gen-1")
    derived = WebhookTarget(url="https://hooks.example.com/a", secret=secret, secret_created_at=NOW, generation="gen-1")
    store.update(EID, lambda current, existing: AlertSettingsChange(settings, derived))
    doc = firestore_db.document(f"enterprises/{EID}/private/alert_webhook").get().to_dict()
    assert doc["generation"] == "gen-1"
    assert "secret" not in doc
    assert secret.get_secret_value() not in str(doc)
    assert store.webhook(EID) == derived
    other_key = FirestoreAlertSettings(firestore_db, SecretStr("another-deployment's-key"))
    found = other_key.webhook(EID)
    assert found is not None
    assert found.secret != secret, "without the key, the generation gives nothing"
    assert derive_secret(KEY, "ent_other", "gen-1") != secret, "per enterprise"
