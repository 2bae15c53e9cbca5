"""Use case: build one enterprise's monthly report and email it, exactly once (``report_worker``).

Steps: check the enterprise still wants the email and has recipients; claim the month's delivery record
(``shared.domain.reports.delivery``); build the report, its charts and its CSV; send; record the outcome.

Retries: a transient failure (the mail relay or Firestore unavailable) raises ``DependencyUnavailable`` so the
worker answers 503 and Cloud Tasks retries with backoff; the attempt is counted, and after
``Settings.report_max_attempts`` the report is recorded ``failed`` and acknowledged, visible to admins in the
reports list. A permanent refusal (``mail_rejected``, ``mail_auth_failed``) is recorded ``failed`` at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from shared.config import Settings
from shared.domain.enterprise.members import report_recipients
from shared.domain.enterprise.model import Enterprise
from shared.domain.reports.delivery import ReportRecord, after_failure, after_send, skipped
from shared.errors import DependencyUnavailable, PlatformError
from shared.ports import BenchmarkStore, Clock, CoverageStore, EnterpriseStore, Mailer, ReportLog, SnapshotStore
from shared.reports.message import message_id, report_message
from shared.reports.render import draw_charts
from shared.services.reports.monthly_report import build_monthly_report
from shared.services.usage.usage_report import usage_csv

log = logging.getLogger(__name__)

REPORT_FAILED_EVENT = "report_delivery_failed"
"""``event`` of the log record of a report given up on (a log-based metric counts them: monitoring.tf)."""

Outcome = Literal["sent", "already_done", "failed", "skipped"]


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    month: str
    attempts: int = 0
    code: str | None = None


def recipients_of(enterprise: Enterprise) -> list[str]:
    """``settings.report_recipients`` that are members, or the admins' addresses (``members.report_recipients``)."""
    return report_recipients(enterprise)


@dataclass
class SendMonthlyReport:
    enterprises: EnterpriseStore
    snapshots: SnapshotStore
    benchmarks: BenchmarkStore
    reports: ReportLog
    mailer: Mailer
    clock: Clock
    settings: Settings
    coverage: CoverageStore | None = None
    """The sync's coverage records: the report names missing and pending days (ADR 0016)."""

    def run(self, enterprise_id: str, month: str) -> SendResult:
        """Send ``month``'s report of ``enterprise_id`` unless it was sent (or finally failed) already.

        Raises:
            DependencyUnavailable: Retry later (mail relay or database unavailable, or another worker is sending).
        """
        enterprise = self.enterprises.get(enterprise_id)
        if enterprise is None or enterprise.status != "active":
            log.info("report skipped: no active enterprise", extra={"enterprise_id": enterprise_id, "month": month})
            return SendResult("skipped", month, code="enterprise_not_found")
        if not enterprise.settings.email_reports:
            return SendResult("skipped", month, code="email_reports_off")
        recipients = recipients_of(enterprise)
        now = self.clock.now()
        if not recipients:
            current = self.reports.get(enterprise_id, month)
            if current is None or current.status.value not in {"sent", "failed"}:
                self.reports.save(enterprise_id, skipped(month, now, code="no_recipients"))
            log.warning("report skipped: no recipient", extra={"enterprise_id": enterprise_id, "month": month})
            return SendResult("skipped", month, code="no_recipients")
        claim = self.reports.claim(enterprise_id, month, now, lease=timedelta(seconds=self.settings.report_lease_s))
        if claim.outcome == "done":
            log.info("report already done", extra={"enterprise_id": enterprise_id, "month": month})
            return SendResult("already_done", month, claim.record.attempts, claim.record.last_error)
        if claim.outcome == "busy":
            raise DependencyUnavailable("this report is being sent by another worker; try again later")
        return self._send(enterprise, month, recipients, claim.record)

    def _send(self, enterprise: Enterprise, month: str, recipients: list[str], claimed: ReportRecord) -> SendResult:
        coverage = self.coverage.all(enterprise.id) if self.coverage is not None else {}
        report = build_monthly_report(
            self.snapshots,
            self.benchmarks,
            self.clock,
            enterprise,
            month,
            forecast_history_days=self.settings.alert_forecast_history_days,
            coverage=coverage,
        )
        csv_text = usage_csv(self.snapshots, enterprise.id, report.start, report.end, coverage)
        message = report_message(
            report,
            pngs=draw_charts(report),
            csv_text=csv_text,
            mail_from=self.settings.mail_from,
            recipients=recipients,
            settings_url=self.settings.site_settings_url,
        )
        context = {"enterprise_id": enterprise.id, "month": month, "attempt": claimed.attempts}
        try:
            self.mailer.send(message)
        except DependencyUnavailable:
            final = claimed.attempts >= self.settings.report_max_attempts
            self.reports.save(
                enterprise.id, after_failure(claimed, self.clock.now(), code="mail_unavailable", final=final)
            )
            if final:
                log.error(
                    "report failed after the last attempt",
                    extra={**context, "event": REPORT_FAILED_EVENT, "error_code": "mail_unavailable"},
                )
                return SendResult("failed", month, claimed.attempts, "mail_unavailable")
            log.warning("report send failed; will retry", extra=context)
            raise
        except PlatformError as e:
            self.reports.save(enterprise.id, after_failure(claimed, self.clock.now(), code=e.code, final=True))
            log.error(
                "report refused by the mail relay",
                extra={**context, "error_code": e.code, "event": REPORT_FAILED_EVENT},
            )
            return SendResult("failed", month, claimed.attempts, e.code)
        sent = after_send(
            claimed,
            self.clock.now(),
            recipients=len(recipients),
            message_id=message_id(enterprise.id, month, self.settings.mail_from),
        )
        self.reports.save(enterprise.id, sent)
        log.info("report sent", extra={**context, "recipients": len(recipients)})
        return SendResult("sent", month, claimed.attempts)
