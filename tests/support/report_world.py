"""Two months of synced usage for one enterprise (September and October 2026), and the report use case's ports.

The usage goes through the real sync service (``SyncWorld``), so the report reads the snapshots and rollups the
platform really writes. October weekdays are busier than weekends, and October costs more than September.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from shared.domain.reports.delivery import ReportRecord
from shared.services.reports.send_monthly_report import SendMonthlyReport
from tests.support.connect_world import ENTERPRISE_ID
from tests.support.fake_reports import FakeBenchmarkStore, FakeReportLog
from tests.support.fakes import FixedClock
from tests.support.sync_world import SyncWorld
from tests.support.usage_days import anthropic_day, openai_day

REPORT_MONTH = "2026-10"
SENT_ON = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass
class ReportWorld:
    sync: SyncWorld = field(default_factory=SyncWorld)
    benchmarks: FakeBenchmarkStore = field(default_factory=FakeBenchmarkStore)
    reports: FakeReportLog = field(default_factory=FakeReportLog)

    def __post_init__(self) -> None:
        for day in _days(date(2026, 9, 1), date(2026, 10, 31)):
            scale = 1 if day.month == 9 else (3 if day.weekday() < 5 else 1)
            self.sync.sources.serve(openai_day(day, scale=scale))
            self.sync.sources.serve(anthropic_day(day))
        for start, end in (("2026-09-01", "2026-10-01"), ("2026-10-01", "2026-11-01")):
            payload = {"enterprise_id": ENTERPRISE_ID, "start": start, "end": end, "reason": "backfill"}
            report = self.sync.run(payload, read_id=f"backfill-{start}")
            assert not report.retry, report.as_dict()
        self.sync.clock = FixedClock(SENT_ON)

    @property
    def clock(self) -> FixedClock:
        return self.sync.clock

    def use_case(self) -> SendMonthlyReport:
        return SendMonthlyReport(
            enterprises=self.sync.enterprises,
            snapshots=self.sync.snapshots,
            benchmarks=self.benchmarks,
            reports=self.reports,
            mailer=self.sync.mailer,
            clock=self.sync.clock,
            settings=self.sync.settings,
            coverage=self.sync.coverage,
        )

    def record(self, month: str = REPORT_MONTH) -> ReportRecord | None:
        return self.reports.get(ENTERPRISE_ID, month)
