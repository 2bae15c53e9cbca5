"""The monthly report says which spend is a bill and which a list-price estimate (Google without a billing export),
and carries the current month's forecast, in every format an admin reads.

Each day of October and November 2026: OpenAI billed $4.30 (``openai_day``) and Google estimated at list prices,
$1.60 (gemini-2.5-flash, 2M input at $0.30 + 400k output at $2.50 per 1M): $5.90 a day, every day of the week.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pypdf
import pytest

from shared.domain.reports.monthly import MonthlyReport
from shared.domain.usage.month import rollup_month
from shared.domain.usage.normalise import DayPart, RawUsage, build_day
from shared.domain.usage.records import ContextBand, CostSource, Provider, ProviderDay, ServiceTier, TokenType
from shared.domain.usage.snapshot import build_snapshot
from shared.domain.usage.snapshot_parts import provider_part
from shared.reports.pdf import report_pdf
from shared.reports.render import data_uris, draw_charts, render_html, render_text
from shared.services.reports.monthly_report import build_monthly_report
from tests.support.connect_world import ENTERPRISE_ID, make_enterprise
from tests.support.fake_reports import FakeBenchmarkStore
from tests.support.fake_sync import FakeSnapshotStore
from tests.support.fakes import FixedClock
from tests.support.usage_days import openai_day

SETTINGS_URL = "https://app.example.com/settings"
FIRST, LAST = date(2026, 9, 25), date(2026, 11, 1)


def _google_estimated(day: date) -> ProviderDay:
    def raw(token_type: TokenType, n: int) -> RawUsage:
        standard = (ServiceTier.STANDARD, ContextBand.STANDARD)
        return RawUsage("gemini-2.5-flash", "acme-prod", None, *standard, token_type, n)

    usage = DayPart(usage=(raw(TokenType.UNCACHED_INPUT, 2_000_000), raw(TokenType.OUTPUT, 400_000)))
    return build_day(Provider.GOOGLE, day, [usage], cost_source=CostSource.ESTIMATED)


@pytest.fixture(scope="module")
def store() -> FakeSnapshotStore:
    days = []
    day = FIRST
    while day <= LAST:
        parts = {
            "openai": provider_part(openai_day(day), "v"),
            "google": provider_part(_google_estimated(day), "v"),
        }
        days.append(build_snapshot(day, parts, index=None, retention_months=24))
        day += timedelta(days=1)
    months = [rollup_month(m, days, retention_months=24) for m in ("2026-09", "2026-10", "2026-11")]
    snapshots = FakeSnapshotStore()
    snapshots.save(ENTERPRISE_ID, days, [m for m in months if m is not None], synced_at=datetime.now(UTC))
    return snapshots


SENT = datetime(2026, 11, 2, 8, tzinfo=UTC)


def _report(store: FakeSnapshotStore, month: str, now: datetime = SENT) -> MonthlyReport:
    enterprise = make_enterprise(now)
    return build_monthly_report(store, FakeBenchmarkStore(), FixedClock(now), enterprise, month)


def _formats(report: MonthlyReport) -> dict[str, str]:
    pngs = draw_charts(report)
    pdf = pypdf.PdfReader(io.BytesIO(report_pdf(report, pngs)))
    return {
        "text": render_text(report, settings_url=SETTINGS_URL),
        "html": render_html(report, settings_url=SETTINGS_URL, images=data_uris(pngs)),
        "pdf": " ".join(" ".join((page.extract_text() or "").split()) for page in pdf.pages),
    }


def test_the_report_labels_googles_estimated_spend_in_every_format(store: FakeSnapshotStore) -> None:
    report = _report(store, "2026-10")

    google = next(p for p in report.by_provider if p.provider == "google")
    openai = next(p for p in report.by_provider if p.provider == "openai")
    assert (google.cost_source, openai.cost_source) == (CostSource.ESTIMATED, CostSource.BILLED)
    assert google.totals.estimated_cost_usd == google.totals.total_cost_usd == Decimal("49.60")  # 31 x $1.60
    assert report.totals.total_cost_usd == Decimal("182.90")  # 31 x $5.90
    assert report.estimated_usd == Decimal("49.60")
    assert "estimated at public list prices" in " ".join(report.cost_notes)
    # Rates and the discount are what was paid: OpenAI's alone.
    assert report.effective_rates == openai.effective_rates

    for name, text in _formats(report).items():
        assert "Google: all $49.60 is estimated at public list prices" in text, name
        assert "(estimated)" in text, name  # the model row too
        assert "incl. $49.60 estimated" in text, name
        assert "estimated at list prices" in text, name  # the provider row's label
    text = _formats(report)["text"]
    rows = [line.strip() for line in text.splitlines() if "per 1M; vs list" in line]
    [google_row] = [row for row in rows if row.startswith("Google")]
    assert google_row.endswith("[estimated at list prices]")
    [openai_row] = [row for row in rows if row.startswith("OpenAI")]
    [gemini_row] = [line.strip() for line in text.splitlines() if line.strip().startswith("gemini-2.5-flash")]
    assert gemini_row.endswith("$49.60  (estimated)")
    assert "estimated" not in openai_row


def test_the_email_after_a_month_forecasts_the_month_it_is_sent_in(store: FakeSnapshotStore) -> None:
    report = _report(store, "2026-10")

    assert report.forecast is not None
    assert (report.forecast.month, report.forecast.as_of) == ("2026-11", date(2026, 11, 1))
    assert report.forecast.method == "weekday_run_rate"
    # November 1 recorded ($5.90) and 29 remaining days at $5.90 (every weekday spends the same here).
    assert report.forecast.forecast_usd == Decimal("177.00")
    for name, text in _formats(report).items():
        assert "November 2026: $177.00 expected by the end of the month" in text, name
        assert "Month to date $5.90 (to 2026-11-01)" in text, name


def test_a_month_to_date_report_forecasts_its_own_month(store: FakeSnapshotStore) -> None:
    report = _report(store, "2026-11", now=datetime(2026, 11, 2, 8, tzinfo=UTC))

    assert not report.complete
    assert report.forecast is not None
    assert report.forecast.month == "2026-11"
    assert report.forecast.forecast_usd == Decimal("177.00")


def test_an_older_months_report_has_no_forecast(store: FakeSnapshotStore) -> None:
    report = _report(store, "2026-10", now=datetime(2026, 12, 15, 8, tzinfo=UTC))

    assert report.forecast is None
    for name, text in _formats(report).items():
        assert "expected by the end of the month" not in text, name
        assert "forecast" not in text.lower(), name


def test_a_discount_over_part_of_the_spend_says_so_in_every_format(store: FakeSnapshotStore) -> None:
    report = _report(store, "2026-10")
    market = report.market.model_copy(
        update={"realized_discount_vs_list": Decimal("0.2"), "price_coverage": Decimal("0.8")}
    )
    formats = _formats(report.model_copy(update={"market": market}))
    assert "over the 80.0 % of billed spend that has a public list price" in formats["text"]
    assert "over the 80.0 % of billed spend that has a public list price" in formats["html"]
    assert "80 % of billed spend priced" in formats["pdf"]
    complete = report.model_copy(update={"market": market.model_copy(update={"price_coverage": Decimal(1)})})
    assert "of billed spend" not in render_text(complete, settings_url=SETTINGS_URL)
