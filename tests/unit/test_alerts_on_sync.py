"""Alerts evaluated by the daily sync on simulated spend series: budgets, spikes, late data, retries, delivery.

Each test serves a month or more of daily spend to a real ``SyncEnterprise`` (behaving fakes of every port), runs the
daily syncs as the dispatcher schedules them, and asserts on the emails, webhook posts and alert records that result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from shared.domain.alerts.anomaly import SpikeRule, detect_spike
from shared.domain.alerts.budgets import AlertSettings, Budget, WebhookInfo, WebhookTarget
from shared.domain.alerts.messages import ID_HEADER, PERIOD_HEADER
from shared.domain.alerts.records import AlertKind, Channel, DeliveryState
from shared.domain.alerts.webhook_signature import ID_HEADER as HOOK_ID
from shared.domain.alerts.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.records import Provider
from shared.errors import DependencyUnavailable, PlatformError
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID, VIEWER_EMAIL
from tests.support.fake_alerts import FakeWebhookSender
from tests.support.spend_world import SpendWorld, days, weekly_series
from tests.support.sync_world import KEYS

START = date(2026, 11, 4)
"""The first daily sync of every test is the next day's; history is backfilled from September."""
HISTORY = date(2026, 9, 1)
BUDGET = Budget(monthly_usd=Decimal("3000"), warning_percent=75, critical_percent=90)


def quiet_world(**series: str) -> SpendWorld:
    world = SpendWorld(START)
    world.set_series(weekly_series(HISTORY, date(2026, 12, 31), weekday="150", weekend="60", **series))
    world.backfill(HISTORY, START)
    return world


def month_to_date(world: SpendWorld, through: date) -> Decimal:
    return sum(
        (
            s.totals.total_cost_usd
            for (_, d), s in world.world.snapshots.snapshots.items()
            if START.replace(day=1) <= d <= through
        ),
        Decimal(0),
    )


def at_sync(day: date) -> datetime:
    return datetime.combine(day, time(2, 5), tzinfo=UTC)


def test_a_budget_crossing_alerts_once_per_threshold_on_the_sync_that_crosses_it() -> None:
    world = quiet_world()
    world.budgets(BUDGET)
    crossed: dict[str, date] = {}
    for day in days(START + timedelta(days=1), date(2026, 12, 2)):
        world.daily_sync(day)
        spent = month_to_date(world, day - timedelta(days=1)) if day.month == 11 else Decimal(0)
        for level, percent in (("warning", 75), ("critical", 90)):
            if level not in crossed and spent * 100 >= BUDGET.monthly_usd * percent:
                crossed[level] = day

    assert set(crossed) == {"warning", "critical"}, "the series must cross both thresholds in November"
    warning, critical = world.emails("budget_warning"), world.emails("budget_critical")
    assert len(warning) == 1
    assert len(critical) == 1
    assert len(world.emails()) == 2, "no spike in a quiet series, nothing else sent"
    records = {a.kind: a for a in world.world.alerts.of(ENTERPRISE_ID)}
    assert set(records) == {AlertKind.BUDGET_WARNING, AlertKind.BUDGET_CRITICAL}
    assert records[AlertKind.BUDGET_WARNING].channels[Channel.EMAIL].sent_at == at_sync(crossed["warning"])
    assert records[AlertKind.BUDGET_CRITICAL].channels[Channel.EMAIL].sent_at == at_sync(crossed["critical"])

    figures = records[AlertKind.BUDGET_WARNING].figures
    spent = month_to_date(world, crossed["warning"] - timedelta(days=1))
    assert figures.spend_usd == spent
    assert figures.budget_usd == Decimal("3000")
    assert figures.threshold_percent == 75
    assert figures.forecast_method == "weekday_run_rate"
    assert figures.forecast_usd is not None
    subject = warning[0]["Subject"]
    for part in ("Acme", "budget warning", "all providers", f"USD {spent:,.2f}", "USD 3,000.00", "2026-11"):
        assert part in subject, (part, subject)
    assert warning[0]["To"] == ADMIN_EMAIL, "no report recipients set: the admins"
    assert warning[0][PERIOD_HEADER] == "2026-11"


def test_a_quiet_month_alerts_never() -> None:
    world = quiet_world()
    world.budgets(Budget(monthly_usd=Decimal("10000"), warning_percent=75, critical_percent=90))
    world.daily_syncs(days(START + timedelta(days=1), date(2026, 12, 6)))

    assert world.emails() == []
    assert world.world.alerts.of(ENTERPRISE_ID) == []
    assert len(world.world.snapshots.snapshots) > 90, "the spike baseline was long enough to be judged"


def test_a_spike_alerts_once_when_its_day_is_settled() -> None:
    world = quiet_world()
    spike_day = date(2026, 11, 16)
    world.set_spend(spike_day, Decimal("900.00"))
    for day in days(START + timedelta(days=1), date(2026, 12, 6)):
        world.daily_sync(day)
        if day < spike_day + timedelta(days=3):
            assert world.world.alerts.of(ENTERPRISE_ID) == [], f"judged {spike_day} before it was settled ({day})"

    [email] = world.emails()
    [alert] = world.world.alerts.of(ENTERPRISE_ID)
    assert (alert.kind, alert.period) == (AlertKind.SPEND_ANOMALY, "2026-11-16")
    assert (alert.scope.provider, alert.scope.model) == (ProviderName.OPENAI, "gpt-4o")
    assert alert.channels[Channel.EMAIL].sent_at == at_sync(spike_day + timedelta(days=3))
    assert alert.figures.spend_usd == Decimal("900.00")
    assert alert.figures.excess_usd is not None
    assert alert.figures.excess_usd > Decimal("700")
    subject = email["Subject"]
    for part in ("Acme", "spend spike", "OpenAI gpt-4o", "USD 900.00", "2026-11-16", "usually USD"):
        assert part in subject, (part, subject)


def test_a_late_arriving_day_does_not_alert() -> None:
    """Yesterday's figure as first reported is not the day's: a partial one grows, an early one can be restated."""
    world = quiet_world()
    rule = SpikeRule()
    inflated, partial = date(2026, 11, 17), date(2026, 11, 18)
    final = weekly_series(HISTORY, date(2026, 12, 31), weekday="150", weekend="60")
    first_seen = dict(final)
    for day in days(START + timedelta(days=1), date(2026, 12, 6)):
        if day == inflated + timedelta(days=1):
            first_seen[inflated] = Decimal("640.00")  # double-counted in the provider's first report
            world.set_spend(inflated, first_seen[inflated])
        if day == inflated + timedelta(days=2):
            world.set_spend(inflated, final[inflated])  # restated
        if day == partial + timedelta(days=1):
            world.set_spend(partial, (final[partial] * Decimal("0.3")).quantize(Decimal("0.01")))
        if day == partial + timedelta(days=2):
            world.set_spend(partial, final[partial])
        world.daily_sync(day)

    assert detect_spike(first_seen, inflated, rule) is not None, "judged as first reported, the day would alert"
    assert world.emails() == []
    assert world.world.alerts.of(ENTERPRISE_ID) == []


def test_a_retried_sync_does_not_resend_and_a_failed_send_is_retried_until_sent() -> None:
    world = quiet_world()
    world.budgets(BUDGET)
    world.world.mailer.down = True
    day = START + timedelta(days=1)
    while not world.world.alerts.of(ENTERPRISE_ID):
        day += timedelta(days=1)
        report = world.daily_sync(day)
    assert not report.retry, "an alert that could not be sent never fails the sync"
    [alert] = world.world.alerts.of(ENTERPRISE_ID)
    assert alert.channels[Channel.EMAIL].state is DeliveryState.PENDING
    assert alert.channels[Channel.EMAIL].last_error == "dependency_unavailable"

    world.daily_sync(day)  # the task retried while the relay is still down
    assert world.emails() == []
    world.world.mailer.down = False
    world.daily_sync(day)  # and again, now that it is up
    world.daily_sync(day)
    world.daily_sync(day + timedelta(days=1))

    [email] = world.emails()
    assert email[ID_HEADER] == alert.id
    [stored] = world.world.alerts.of(ENTERPRISE_ID)
    delivery = stored.channels[Channel.EMAIL]
    assert (delivery.state, delivery.attempts, stored.open) == (DeliveryState.SENT, 3, False)


def test_an_alert_in_flight_is_not_sent_again_until_its_lease_runs_out() -> None:
    """A sync that claimed the send and died: the next one waits for the lease, then takes over."""
    world = quiet_world()
    world.budgets(BUDGET)
    store = world.world.alerts
    world.world.mailer.down = True
    day = START + timedelta(days=1)
    while not store.of(ENTERPRISE_ID):
        day += timedelta(days=1)
        world.daily_sync(day)
    [alert] = store.of(ENTERPRISE_ID)
    world.world.mailer.down = False
    assert store.claim(ENTERPRISE_ID, alert.id, Channel.EMAIL, now=world.clock.now(), lease_s=600, max_attempts=10)

    world.daily_sync(day)  # within the lease
    assert world.emails() == []
    world.clock.advance(timedelta(minutes=11))
    world.world.alert_use_case().evaluate(world.world.enterprises.docs[ENTERPRISE_ID])
    assert len(world.emails()) == 1


def test_a_send_that_keeps_failing_is_given_up_after_the_attempts_allowed() -> None:
    world = quiet_world()
    world.budgets(BUDGET)
    world.world.settings = world.world.settings.model_copy(update={"alert_max_send_attempts": 2})
    world.world.mailer.down = True
    world.daily_syncs(days(START + timedelta(days=1), date(2026, 11, 30)))

    [alert, *_] = world.world.alerts.of(ENTERPRISE_ID)
    delivery = alert.channels[Channel.EMAIL]
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.FAILED, 2, "attempts_exhausted")


def _with_webhook(world: SpendWorld, secret: str) -> None:
    now = world.clock.now()
    world.world.alert_settings.settings[ENTERPRISE_ID] = AlertSettings(
        budgets=[BUDGET], webhook=WebhookInfo(host="hooks.example.com", configured_at=now, secret_created_at=now)
    )
    world.world.alert_settings.webhooks[ENTERPRISE_ID] = WebhookTarget(
        url="https://hooks.example.com/usage", secret=SecretStr(secret), secret_created_at=now
    )


def test_the_webhook_gets_each_alert_signed_once() -> None:
    """A transient failure is retried by a Cloud Tasks task: tests/unit/test_webhook_retry.py."""
    world = quiet_world()
    secret = "whsec_unit-test-secret-0000000000000000000000"
    _with_webhook(world, secret)
    hooks = world.world.webhooks
    world.daily_syncs(days(START + timedelta(days=1), date(2026, 11, 30)))

    assert len(hooks.posts) == 2 == len(world.emails())
    kinds = []
    for url, body, headers in hooks.posts:
        assert url == "https://hooks.example.com/usage"
        assert verify_signature(
            SecretStr(secret),
            body,
            timestamp=headers[TIMESTAMP_HEADER],
            signature_header=headers[SIGNATURE_HEADER],
            now=int(headers[TIMESTAMP_HEADER]),
        )
        document = json.loads(body)
        assert document["id"] == headers[HOOK_ID]
        assert document["enterprise"] == {"id": ENTERPRISE_ID, "name": "Acme"}
        kinds.append(document["kind"])
    assert sorted(kinds) == ["budget_critical", "budget_warning"]
    warning = next(a for a in world.world.alerts.of(ENTERPRISE_ID) if a.kind is AlertKind.BUDGET_WARNING)
    assert warning.channels[Channel.WEBHOOK].attempts == 1


def test_a_webhook_that_refuses_is_not_retried_and_email_still_goes() -> None:
    world = quiet_world()
    _with_webhook(world, "whsec_unit-test-secret-1111111111111111111111")
    world.world.webhooks.failures.append(PlatformError("refused (410)", code="webhook_rejected"))
    world.daily_syncs(days(START + timedelta(days=1), date(2026, 11, 30)))

    warning = next(a for a in world.world.alerts.of(ENTERPRISE_ID) if a.kind is AlertKind.BUDGET_WARNING)
    hook = warning.channels[Channel.WEBHOOK]
    assert (hook.state, hook.attempts, hook.last_error) == (DeliveryState.FAILED, 1, "webhook_rejected")
    assert warning.channels[Channel.EMAIL].state is DeliveryState.SENT
    assert len(world.world.webhooks.posts) == 1, "only the critical alert reached the webhook"


def test_provider_and_project_budgets_count_only_their_own_spend() -> None:
    world = quiet_world()
    for day in days(HISTORY, date(2026, 12, 31)):
        world.set_spend(day, Decimal("400.00"), model="claude-sonnet-4-5", provider=Provider.ANTHROPIC)
    world.backfill(HISTORY, START)
    world.budgets(
        Budget(provider=ProviderName.OPENAI, monthly_usd=Decimal("3000"), warning_percent=75, critical_percent=90),
        Budget(
            provider=ProviderName.OPENAI,
            project="proj_other",
            monthly_usd=Decimal("10"),
            warning_percent=75,
            critical_percent=90,
        ),
    )
    world.daily_syncs(days(START + timedelta(days=1), date(2026, 11, 30)))

    alerts = world.world.alerts.of(ENTERPRISE_ID)
    assert {(a.kind.value, a.scope.key) for a in alerts} == {
        ("budget_warning", "provider=openai"),
        ("budget_critical", "provider=openai"),
    }, "Anthropic's $400 a day counts in neither; proj_other has no spend"
    assert all("OpenAI" in m["Subject"] for m in world.emails())


def test_alerts_go_to_the_report_recipients_and_never_hold_a_key() -> None:
    world = quiet_world()
    world.budgets(BUDGET)
    enterprise = world.world.enterprises.docs[ENTERPRISE_ID]
    settings = enterprise.settings.model_copy(update={"report_recipients": [VIEWER_EMAIL, "finance@acme.example"]})
    world.world.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(
        update={"settings": settings, "name": "Acme <b>\nBcc: x@evil.example"}
    )
    world.set_spend(date(2026, 11, 16), Decimal("900.00"))
    world.daily_syncs(days(START + timedelta(days=1), date(2026, 11, 30)))

    emails = world.emails()
    # The spike pushes the month past both thresholds at once: one critical alert, no warning.
    assert sorted(m["X-Usage-Alert-Kind"] for m in emails) == ["budget_critical", "spend_anomaly"]
    for message in emails:
        assert message["To"] == VIEWER_EMAIL  # finance@ is not a member: never emailed
        assert message["Bcc"] is None
        assert "\n" not in message["Subject"]
        text = message.as_string()
        assert not any(key in text for key in KEYS.values())
        html = message.get_body(("html",)).get_content()
        assert "<b>" not in html
        assert "&lt;b&gt;" in html
        assert "http://127.0.0.1:8080/settings" in message.get_body(("plain",)).get_content()


def test_spike_alerts_can_be_turned_off() -> None:
    world = quiet_world()
    world.budgets(anomaly_alerts=False)
    world.set_spend(date(2026, 11, 16), Decimal("900.00"))
    world.daily_syncs(days(START + timedelta(days=1), date(2026, 11, 25)))
    assert world.emails() == []


def test_the_sync_stores_its_data_even_when_alerts_cannot_be_recorded() -> None:
    world = quiet_world()
    world.budgets(BUDGET)
    world.world.alerts.down = True
    for day in days(START + timedelta(days=1), date(2026, 11, 28)):
        report = world.daily_sync(day)
        assert report.days_written >= 1
        assert not report.retry
    world.world.alerts.down = False
    world.daily_sync(date(2026, 11, 28))
    [email] = world.emails()
    assert email["X-Usage-Alert-Kind"] == "budget_critical", "caught up: only the highest threshold reached is sent"


def test_a_backfill_delivers_what_is_due_but_leaves_judging_to_the_daily_sync() -> None:
    world = SpendWorld(START)
    world.set_series(weekly_series(HISTORY, date(2026, 12, 31), weekday="150", weekend="60"))
    world.budgets(Budget(monthly_usd=Decimal("100"), warning_percent=75, critical_percent=90))
    world.backfill(HISTORY, START)
    assert world.world.alerts.of(ENTERPRISE_ID) == [], "a history import judges nothing"

    world.world.mailer.down = True
    world.daily_sync(START + timedelta(days=1))
    [alert] = world.world.alerts.of(ENTERPRISE_ID)
    assert world.emails() == []
    world.world.mailer.down = False
    world.backfill(HISTORY, START)  # a re-connect's backfill, say: the pending email goes out
    [email] = world.emails()
    assert email[ID_HEADER] == alert.id


class _SlowReceiver(FakeWebhookSender):
    """Every send takes the whole delivery deadline (what a trickling receiver costs, ``test_webhook_deadline``)."""

    def __init__(self, world: SpendWorld) -> None:
        super().__init__()
        self._world = world

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        self._world.clock.advance(timedelta(seconds=self._world.world.settings.webhook_deadline_s))
        raise DependencyUnavailable("the webhook did not answer in time (ReadTimeout)")


def test_a_slow_webhook_cannot_hold_the_sync_past_its_alert_budget() -> None:
    """The receiver never answers: alerts pile up, and each sync spends at most its budget on them."""
    world = quiet_world()
    settings = world.world.settings.model_copy(update={"webhook_deadline_s": 5.0, "alert_delivery_budget_s": 9.0})
    world.world.settings = settings
    _with_webhook(world, "whsec_unit-test-secret-2222222222222222222222")
    world.world.webhooks = _SlowReceiver(world)

    def attempts() -> int:
        return sum(a.channels[Channel.WEBHOOK].attempts for a in world.world.alerts.of(ENTERPRISE_ID))

    most_open, most_sent = 0, 0
    for day in days(START + timedelta(days=1), date(2026, 11, 30)):
        before = attempts()
        world.daily_sync(day)
        assert (world.clock.now() - at_sync(day)).total_seconds() <= settings.alert_delivery_budget_s
        most_open = max(most_open, len(world.world.alerts.open_alerts(ENTERPRISE_ID, limit=50)))
        most_sent = max(most_sent, attempts() - before)

    assert most_open >= 2, "alerts piled up behind the receiver"
    assert most_sent == 1, "one 5 s send fits a 9 s budget; the others waited for the next sync"


def test_the_judging_reuses_the_syncs_month_and_reads_older_months_from_their_rollups() -> None:
    """A daily sync hands the month it just read and wrote to the alerts' judging, which rebuilds older months from
    their rollups (one document each) instead of reading their daily snapshots again. A rollup in the older layout
    (no days kept) is read from its snapshots instead, and the findings are the same either way."""
    findings: dict[str, Any] = {}
    reads: dict[str, set[tuple[str, ...]]] = {}
    for layout in ("rollups keep their days", "older rollups"):
        world = quiet_world()
        world.set_spend(date(2026, 11, 16), Decimal("900.00"))
        store = world.world.snapshots
        if layout == "older rollups":
            for key, month in store.months.items():
                store.months[key] = month.model_copy(update={"daily": None, "daily_version": None})
        store.day_reads.clear()
        store.rollup_reads.clear()
        world.daily_syncs(days(date(2026, 11, 17), date(2026, 11, 20)))  # windows inside November
        findings[layout] = [(a.kind, a.period, a.scope) for a in world.world.alerts.of(ENTERPRISE_ID)]
        reads[layout] = set(store.day_reads)
        assert set(store.rollup_reads) == {("2026-10",)}, "November came from the sync, October from its rollup"

    [(kind, period, scope)] = findings["rollups keep their days"]
    assert (kind, period, scope.model) == (AlertKind.SPEND_ANOMALY, "2026-11-16", "gpt-4o")
    assert findings["older rollups"] == findings["rollups keep their days"]
    assert reads["rollups keep their days"] == set(), "no month of daily snapshots read again"
    assert reads["older rollups"] == {("2026-10",)}, "only the month the sync did not touch, whose rollup has no days"
