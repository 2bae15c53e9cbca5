"""Behaving fakes for the report ports: delivery records (with the domain's claim rule) and benchmark documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from shared.domain.reports.delivery import Claim, ReportRecord, decide_claim
from shared.errors import DependencyUnavailable
from tests.support.fake_benchmarks import FakeBenchmarkStore
from tests.support.fakes import FakeEnterpriseStore

__all__ = ["FakeBenchmarkStore", "FakeReportLog", "FakeReportTargets"]


class FakeReportLog:
    def __init__(self, months_with_usage: dict[str, list[str]] | None = None) -> None:
        self.records: dict[tuple[str, str], ReportRecord] = {}
        self.usage_months = months_with_usage or {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("the database is temporarily unavailable (fake outage)")

    def claim(self, enterprise_id: str, month: str, now: datetime, *, lease: timedelta) -> Claim:
        self._check()
        decision = decide_claim(self.records.get((enterprise_id, month)), month, now, lease=lease)
        if decision.outcome == "claimed":
            self.records[(enterprise_id, month)] = decision.record
        return decision

    def save(self, enterprise_id: str, record: ReportRecord) -> None:
        self._check()
        self.records[(enterprise_id, record.month)] = record

    def get(self, enterprise_id: str, month: str) -> ReportRecord | None:
        self._check()
        return self.records.get((enterprise_id, month))

    def recent(self, enterprise_id: str, limit: int) -> list[ReportRecord]:
        found = [r for (e, _), r in self.records.items() if e == enterprise_id]
        return sorted(found, key=lambda r: r.month, reverse=True)[:limit]

    def months_with_usage(self, enterprise_id: str, limit: int) -> list[str]:
        return sorted(self.usage_months.get(enterprise_id, []), reverse=True)[:limit]


class FakeReportTargets:
    """Reads a ``FakeEnterpriseStore`` with the Firestore adapter's filters."""

    def __init__(self, enterprises: FakeEnterpriseStore) -> None:
        self._enterprises = enterprises

    def pages(self, *, page_size: int) -> Iterator[list[str]]:
        ids = sorted(e.id for e in self._enterprises.docs.values() if e.status == "active" and e.settings.email_reports)
        for start in range(0, len(ids), page_size):
            yield ids[start : start + page_size]
