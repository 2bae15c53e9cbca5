"""Use case: the reports an enterprise can open or download, and one report in the format asked for.

The list shows the months with usage (newest first, at most ``LISTED_MONTHS``) and the current month, each with
its email delivery state when the monthly email went out (or failed). Exports are built on demand from the same
figures as the email: JSON (the ``MonthlyReport`` model), HTML (charts inlined as data URIs, no external
request), the month's FOCUS-style CSV, or PDF.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.config import Settings
from shared.domain.enterprise.model import Enterprise, ProviderName
from shared.domain.reports.delivery import ReportRecord
from shared.domain.reports.monthly import MonthlyReport
from shared.domain.sync.coverage import SyncCoverage
from shared.ports import BenchmarkStore, Clock, ReportLog, SnapshotStore
from shared.reports.render import data_uris, draw_charts, render_html
from shared.services.reports.monthly_report import build_monthly_report
from shared.services.usage.usage_report import usage_csv

ExportFormat = Literal["json", "html", "csv", "pdf"]
MEDIA_TYPES: dict[ExportFormat, str] = {
    "json": "application/json",
    "html": "text/html",
    "csv": "text/csv",
    "pdf": "application/pdf",
}
LISTED_MONTHS = 24


class ReportDelivery(BaseModel):
    """The monthly email's state for a month (no addresses, no content)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["sending", "retrying", "sent", "failed", "skipped"]
    attempts: int
    sent_at: datetime | None
    recipient_count: int
    last_error: str | None
    """A stable code: ``mail_unavailable``, ``mail_rejected``, ``mail_auth_failed``, ``no_recipients``."""


class ReportListEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str
    complete: bool
    """False for the current month (month to date)."""
    email: ReportDelivery | None
    """None when no monthly email was attempted for the month."""
    links: dict[ExportFormat, str]


class ReportList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[ReportListEntry]
    """Newest first."""


def _delivery(record: ReportRecord | None) -> ReportDelivery | None:
    if record is None:
        return None
    return ReportDelivery(
        status=record.status.value,
        attempts=record.attempts,
        sent_at=record.sent_at,
        recipient_count=record.recipient_count,
        last_error=record.last_error,
    )


def list_reports(reports: ReportLog, clock: Clock, enterprise_id: str, base_path: str) -> ReportList:
    current = clock.now().strftime("%Y-%m")
    with_usage = reports.months_with_usage(enterprise_id, LISTED_MONTHS)
    records = {r.month: r for r in reports.recent(enterprise_id, LISTED_MONTHS)}
    months = sorted({current, *with_usage, *records}, reverse=True)[:LISTED_MONTHS]
    return ReportList(
        reports=[
            ReportListEntry(
                month=month,
                complete=month < current,
                email=_delivery(records.get(month)),
                links={fmt: f"{base_path}/{month}?format={fmt}" for fmt in MEDIA_TYPES},
            )
            for month in months
        ]
    )


@dataclass(frozen=True)
class Export:
    media_type: str
    body: bytes
    filename: str


def export_report(
    snapshots: SnapshotStore,
    benchmarks: BenchmarkStore,
    clock: Clock,
    settings: Settings,
    enterprise: Enterprise,
    month: str,
    fmt: ExportFormat,
    coverage: Mapping[ProviderName, SyncCoverage] | None = None,
) -> Export | MonthlyReport:
    """The report of ``month`` as ``fmt``; JSON is returned as the model (the web layer serialises it).
    ``coverage``: the sync's records, so missing and pending days are named, never shown as $0."""
    report = build_monthly_report(
        snapshots,
        benchmarks,
        clock,
        enterprise,
        month,
        forecast_history_days=settings.alert_forecast_history_days,
        coverage=coverage,
    )
    name = f"usage-report_{month}"
    if fmt == "json":
        return report
    if fmt == "csv":
        text = usage_csv(snapshots, enterprise.id, report.start, report.end, coverage)
        return Export("text/csv; charset=utf-8", text.encode(), f"{name}.csv")
    pngs = draw_charts(report)
    if fmt == "pdf":
        from shared.reports.pdf import report_pdf  # fpdf2 loads only for a PDF (it slows every cold start otherwise)

        return Export("application/pdf", report_pdf(report, pngs), f"{name}.pdf")
    html = render_html(report, settings_url=settings.site_settings_url, images=data_uris(pngs))
    return Export("text/html; charset=utf-8", html.encode(), f"{name}.html")
