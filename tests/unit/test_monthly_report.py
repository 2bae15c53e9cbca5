"""The monthly report: its figures equal the usage API's, the email's structure, and exactly-once delivery."""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import date, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.domain.reports.delivery import DeliveryStatus
from shared.errors import DependencyUnavailable, PlatformError
from shared.services.reports.monthly_report import build_monthly_report
from shared.services.usage.usage_report import usage_for_range
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID, VIEWER_EMAIL
from tests.support.report_world import REPORT_MONTH, ReportWorld


@pytest.fixture(scope="module")
def synced() -> ReportWorld:
    return ReportWorld()


@pytest.fixture
def world(synced: ReportWorld) -> ReportWorld:
    """A fresh delivery state over the module's synced usage (syncing two months is the slow part)."""
    from tests.support.fake_mailer import FakeMailer
    from tests.support.fake_reports import FakeReportLog

    synced.reports = FakeReportLog()
    synced.sync.mailer = FakeMailer()
    enterprise = synced.sync.enterprises.docs[ENTERPRISE_ID]
    synced.sync.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(
        update={"settings": enterprise.settings.model_copy(update={"report_recipients": [], "email_reports": True})}
    )
    return synced


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(bytes(message), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_report_figures_are_the_usage_apis_for_the_month(world: ReportWorld) -> None:
    enterprise = world.sync.enterprises.docs[ENTERPRISE_ID]
    report = build_monthly_report(world.sync.snapshots, world.benchmarks, world.clock, enterprise, REPORT_MONTH)
    usage = usage_for_range(world.sync.snapshots, ENTERPRISE_ID, date(2026, 10, 1), date(2026, 10, 31))
    assert report.complete
    assert report.totals == usage.totals
    assert report.totals.total_cost_usd > 0
    assert {r.key: r.cost_usd for r in report.by_model} == {r.key: r.cost_usd for r in usage.by_model}
    assert [d.date for d in report.by_day] == [date(2026, 10, 1) + timedelta(days=n) for n in range(31)]
    september = usage_for_range(world.sync.snapshots, ENTERPRISE_ID, date(2026, 9, 1), date(2026, 9, 30))
    assert report.trend is not None
    assert report.trend.previous_month == "2026-09"
    expected = usage.totals.total_cost_usd / september.totals.total_cost_usd - 1
    assert report.trend.cost_change == expected.quantize(Decimal("1e-10"))
    assert report.trend.cost_change > 0  # October's weekdays were three times as busy
    assert report.market.index_blended_rate == Decimal("9.18")
    assert report.market.rate_vs_index == (usage.effective_rates.blended / Decimal("9.18")).quantize(Decimal("1e-10"))


def test_the_current_month_is_month_to_date_and_future_months_are_refused(world: ReportWorld) -> None:
    from shared.errors import InvalidInput

    enterprise = world.sync.enterprises.docs[ENTERPRISE_ID]
    current = build_monthly_report(world.sync.snapshots, world.benchmarks, world.clock, enterprise, "2026-11")
    assert not current.complete
    assert current.end == world.clock.now().date()
    for bad in ("2026-12", "2026-13", "26-10", "2024-01", "2026-10-01"):
        with pytest.raises(InvalidInput) as caught:
            build_monthly_report(world.sync.snapshots, world.benchmarks, world.clock, enterprise, bad)
        assert caught.value.code == "invalid_month"


def test_the_email_has_text_html_with_its_charts_and_the_csv(world: ReportWorld) -> None:
    result = world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    assert result.outcome == "sent"
    [sent] = world.sync.mailer.sent
    message = _parsed(sent)
    assert message["To"] == ADMIN_EMAIL  # no recipients configured: the admins (not the viewer)
    assert message["List-Unsubscribe"] == f"<{world.sync.settings.site_settings_url}>"
    assert message["Subject"] == "Acme: LLM usage report for October 2026"
    assert re.fullmatch(r"<report-2026-10-[0-9a-f]{24}@usage-tracking\.local>", message["Message-ID"])
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = list(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    plain, related = list(alternative.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, *images = list(related.iter_parts())
    assert html.get_content_type() == "text/html"
    assert [i.get_content_type() for i in images] == ["image/png", "image/png"]
    referenced = set(re.findall(r'src="cid:([^"]+)"', html.get_content()))
    assert referenced == {i["Content-ID"].strip("<>") for i in images}
    assert all(i.get_content().startswith(b"\x89PNG") for i in images)
    assert "<script" not in html.get_content().lower()
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename() == "usage_2026-10.csv"
    rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
    assert {r["ChargePeriodStart"][:10] for r in rows} == {f"2026-10-{d:02d}" for d in range(1, 32)}
    text = plain.get_content()
    assert "$657.30" in text
    assert "$657.30" in html.get_content()
    record = world.record()
    assert record is not None
    assert record.status is DeliveryStatus.SENT
    assert record.recipient_count == 1


def test_running_twice_sends_once(world: ReportWorld) -> None:
    assert world.use_case().run(ENTERPRISE_ID, REPORT_MONTH).outcome == "sent"
    assert world.use_case().run(ENTERPRISE_ID, REPORT_MONTH).outcome == "already_done"
    assert len(world.sync.mailer.sent) == 1


def test_a_report_being_sent_elsewhere_is_retried_later_not_sent_twice(world: ReportWorld) -> None:
    from datetime import timedelta as td

    world.reports.claim(ENTERPRISE_ID, REPORT_MONTH, world.clock.now(), lease=td(minutes=5))
    with pytest.raises(DependencyUnavailable):
        world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    assert world.sync.mailer.sent == []
    world.clock.advance(td(minutes=6))  # the other worker died: its lease expired
    assert world.use_case().run(ENTERPRISE_ID, REPORT_MONTH).outcome == "sent"
    assert len(world.sync.mailer.sent) == 1


def _delivery_failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == "report_delivery_failed"]


def test_a_relay_outage_is_retried_then_recorded_failed_after_the_last_attempt(
    world: ReportWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.sync.mailer.down = True
    attempts = world.sync.settings.report_max_attempts
    for attempt in range(1, attempts):
        with pytest.raises(DependencyUnavailable):
            world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
        record = world.record()
        assert record is not None
        assert record.status is DeliveryStatus.RETRYING
        assert record.attempts == attempt
    assert _delivery_failures(caplog) == []  # retries are not failures yet
    last = world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)  # acknowledged: Cloud Tasks stops retrying
    assert (last.outcome, last.code) == ("failed", "mail_unavailable")
    assert len(_delivery_failures(caplog)) == 1  # counted by the delivery-failure metric (monitoring.tf)
    record = world.record()
    assert record is not None
    assert record.status is DeliveryStatus.FAILED
    assert record.attempts == attempts
    world.sync.mailer.down = False
    assert world.use_case().run(ENTERPRISE_ID, REPORT_MONTH).outcome == "already_done"
    assert world.sync.mailer.sent == []


def test_a_retry_after_an_outage_sends(world: ReportWorld) -> None:
    world.sync.mailer.down = True
    with pytest.raises(DependencyUnavailable):
        world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    world.sync.mailer.down = False
    result = world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    assert (result.outcome, result.attempts) == ("sent", 2)
    assert len(world.sync.mailer.sent) == 1


def test_a_refused_message_is_failed_at_once(world: ReportWorld, caplog: pytest.LogCaptureFixture) -> None:
    class RefusingMailer:
        def send(self, message: EmailMessage) -> None:
            raise PlatformError("the mail relay refused the message (550)", code="mail_rejected")

    world.sync.mailer = RefusingMailer()  # type: ignore[assignment]
    result = world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    assert (result.outcome, result.code) == ("failed", "mail_rejected")
    record = world.record()
    assert record is not None
    assert record.status is DeliveryStatus.FAILED
    assert record.last_error == "mail_rejected"
    assert [r.error_code for r in _delivery_failures(caplog)] == ["mail_rejected"]  # type: ignore[attr-defined]


def test_configured_recipients_replace_the_admins_but_only_while_they_are_members(world: ReportWorld) -> None:
    """``former@acme.example`` was a recipient when it was saved (or before recipients had to be members)."""
    enterprise = world.sync.enterprises.docs[ENTERPRISE_ID]
    settings = enterprise.settings.model_copy(
        update={"report_recipients": [VIEWER_EMAIL.upper(), "former@acme.example"]}
    )
    world.sync.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(update={"settings": settings})
    try:
        world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    finally:
        world.sync.enterprises.docs[ENTERPRISE_ID] = enterprise
    [sent] = world.sync.mailer.sent
    assert sent["To"] == VIEWER_EMAIL


def test_opted_out_or_closing_enterprises_get_nothing(world: ReportWorld) -> None:
    enterprise = world.sync.enterprises.docs[ENTERPRISE_ID]
    off = enterprise.settings.model_copy(update={"email_reports": False})
    world.sync.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(update={"settings": off})
    assert world.use_case().run(ENTERPRISE_ID, REPORT_MONTH).code == "email_reports_off"
    world.sync.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(update={"status": "closing"})
    assert world.use_case().run(ENTERPRISE_ID, REPORT_MONTH).code == "enterprise_not_found"
    assert world.sync.mailer.sent == []
    world.sync.enterprises.docs[ENTERPRISE_ID] = enterprise


def test_a_failed_key_is_a_warning_in_the_report(world: ReportWorld) -> None:
    enterprise = world.sync.enterprises.docs[ENTERPRISE_ID]
    providers = dict(enterprise.providers)
    providers[ProviderName.OPENAI] = providers[ProviderName.OPENAI].model_copy(
        update={"status": ProviderStatus.KEY_FAILED}
    )
    world.sync.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(update={"providers": providers})
    try:
        world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    finally:
        world.sync.enterprises.docs[ENTERPRISE_ID] = enterprise
    [sent] = world.sync.mailer.sent
    text = _parsed(sent).get_body(("plain",))
    assert text is not None
    assert "ACTION NEEDED: The OpenAI admin key stopped working" in text.get_content()


def test_the_peer_position_is_in_the_report_when_published(world: ReportWorld) -> None:
    from shared.domain.peers.benchmarks import compute_benchmarks
    from shared.services.peers.aggregate_benchmarks import disclosure_params
    from tests.unit.test_benchmarks import COMPUTED_AT, grid_population, with_domains

    settings = world.sync.settings
    document = compute_benchmarks(
        with_domains(grid_population(30)),
        REPORT_MONTH,
        disclosure_params(settings),
        settings.benchmark_noise_key,
        COMPUTED_AT,
    )
    world.benchmarks.put(document)
    enterprise = world.sync.enterprises.docs[ENTERPRISE_ID]
    sharing = enterprise.model_copy(
        update={"settings": enterprise.settings.model_copy(update={"share_anonymous_benchmarks": True})}
    )
    try:
        report = build_monthly_report(world.sync.snapshots, world.benchmarks, world.clock, sharing, REPORT_MONTH)
        not_sharing = build_monthly_report(
            world.sync.snapshots, world.benchmarks, world.clock, enterprise, REPORT_MONTH
        )
    finally:
        world.benchmarks.documents.clear()
    assert report.peers.status == "positioned"
    assert report.peers.enterprise_count_band == "20–49"
    assert report.peers.lines
    assert report.peers.lines[0].startswith("Price vs list: ")
    assert not_sharing.peers.status == "not_sharing"
    from shared.reports.render import render_text

    assert report.peers.lines[0] in render_text(report, settings_url="https://app.example/settings")


def test_a_newline_in_the_enterprise_name_does_not_stop_the_report(world: ReportWorld) -> None:
    """The report is sent (not left "sending"), its subject on one line, no header injected."""
    docs = world.sync.enterprises.docs
    original = docs[ENTERPRISE_ID]
    docs[ENTERPRISE_ID] = original.model_copy(update={"name": "Acme\nBcc: victim@example.com"})
    try:
        world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    finally:
        docs[ENTERPRISE_ID] = original
    record = world.record()
    assert record is not None
    assert record.status is DeliveryStatus.SENT
    [mail] = world.sync.mailer.sent
    parsed = _parsed(mail)
    assert parsed["Subject"].startswith("Acme Bcc: victim@example.com: LLM usage report for")
    assert parsed["Bcc"] is None
