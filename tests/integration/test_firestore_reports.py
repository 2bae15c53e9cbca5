"""The report delivery records and report targets on the Firestore emulator."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_reports import FirestoreReportLog, FirestoreReportTargets
from shared.adapters.firestore_snapshots import FirestoreSnapshots
from shared.domain.enterprise.model import Enterprise, EnterpriseSettings, Member, Role
from shared.domain.reports.delivery import Claim, DeliveryStatus, after_send
from shared.domain.usage.month import rollup_month
from shared.errors import DependencyUnavailable
from tests.integration.test_firestore_snapshots import snapshots

pytestmark = pytest.mark.emulator

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _enterprise(i: int, *, reports: bool = True, status: str = "active") -> Enterprise:
    return Enterprise(
        id=f"ent_{i:04d}",
        name=f"E{i}",
        created_at=NOW,
        updated_at=NOW,
        created_by="u",
        members={"u": Member(email="a@example.com", role=Role.ADMIN, added_at=NOW)},
        member_uids=["u"],
        settings=EnterpriseSettings(email_reports=reports),
        status=status,  # type: ignore[arg-type]
    )


def test_concurrent_claims_give_the_report_to_exactly_one_worker(firestore_db: Any) -> None:
    log = FirestoreReportLog(firestore_db)

    def claim(_: int) -> Claim | None:
        try:
            return log.claim("ent_0001", "2026-10", NOW, lease=LEASE)
        except DependencyUnavailable:
            return None  # lost to the others every time: the task is retried later, as in production

    with ThreadPoolExecutor(max_workers=6) as pool:
        claims = list(pool.map(claim, range(6)))
    outcomes = sorted(c.outcome if c else "retry later" for c in claims)
    assert outcomes.count("claimed") == 1, outcomes
    assert set(outcomes) <= {"claimed", "busy", "retry later"}, outcomes
    claimed = next(c.record for c in claims if c and c.outcome == "claimed")
    log.save("ent_0001", after_send(claimed, NOW, recipients=2, message_id="<m@x>"))
    again = log.claim("ent_0001", "2026-10", NOW + timedelta(hours=1), lease=LEASE)
    assert again.outcome == "done"
    stored = log.get("ent_0001", "2026-10")
    assert stored is not None
    assert (stored.status, stored.attempts, stored.recipient_count) == (DeliveryStatus.SENT, 1, 2)


def test_an_expired_lease_can_be_claimed_again(firestore_db: Any) -> None:
    log = FirestoreReportLog(firestore_db)
    assert log.claim("ent_0001", "2026-10", NOW, lease=LEASE).outcome == "claimed"
    assert log.claim("ent_0001", "2026-10", NOW + timedelta(minutes=4), lease=LEASE).outcome == "busy"
    retaken = log.claim("ent_0001", "2026-10", NOW + timedelta(minutes=6), lease=LEASE)
    assert (retaken.outcome, retaken.record.attempts) == ("claimed", 2)


def test_recent_records_and_months_with_usage_newest_first(firestore_db: Any) -> None:
    log = FirestoreReportLog(firestore_db)
    for month in ("2026-08", "2026-10", "2026-09"):
        log.claim("ent_0001", month, NOW, lease=LEASE)
    log.claim("ent_0002", "2026-07", NOW, lease=LEASE)
    assert [r.month for r in log.recent("ent_0001", 2)] == ["2026-10", "2026-09"]
    store = FirestoreSnapshots(firestore_db)
    for month, days in (("2026-10", snapshots(date(2026, 10, 3))), ("2026-11", snapshots(NOW.date()))):
        store.save("ent_0001", days, [rollup_month(month, days, retention_months=24)], synced_at=NOW)
    assert log.months_with_usage("ent_0001", 24) == ["2026-11", "2026-10"]
    assert log.months_with_usage("ent_0002", 24) == []


def test_targets_are_active_enterprises_that_want_the_email(firestore_db: Any) -> None:
    store = FirestoreEnterprises(firestore_db)
    for i in range(7):
        store.create(_enterprise(i))
    store.create(_enterprise(7, reports=False))
    store.create(_enterprise(8, status="closing"))
    pages = list(FirestoreReportTargets(firestore_db).pages(page_size=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [e for p in pages for e in p] == [f"ent_{i:04d}" for i in range(7)]
