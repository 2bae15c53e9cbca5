"""The sync worker's use case for a Google connection with every real adapter: the simulator's token, Monitoring and
BigQuery endpoints over HTTP, the Firestore emulator and the local Secret Manager. Expected figures are the
simulator's ground truth (``sim.google_truth``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from devstack.provider_sim import Faults, RunningSimulator, serve
from devstack.provider_sim.simulator import ProviderSimulator
from shared.adapters.firestore_audit import FirestoreAuditLog
from shared.adapters.firestore_connections import FirestoreProviderConnections
from shared.adapters.firestore_coverage import FirestoreCoverage
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_leases import FirestoreLeases
from shared.adapters.firestore_snapshots import FirestoreSnapshots
from shared.adapters.secret_manager import SecretManagerStore
from shared.adapters.usage_sources import ProviderUsageSources
from shared.config import Settings
from shared.domain.connections.provider_keys import ProviderKeyRecord, key_id_for
from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry
from shared.domain.enterprise.model import ProviderName, ProviderState, ProviderStatus
from shared.services.connections.key_health import KeyHealth
from shared.services.sync.sync_coverage import SyncCoverageRecorder
from shared.services.sync.sync_enterprise import SyncEnterprise
from shared.services.sync.sync_report import Outcome, SyncReport, SyncRequest
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import ENTERPRISE_ID, make_enterprise
from tests.support.fake_mailer import FakeMailer
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FixedClock
from tests.support.google_sim import BILLING_ACCOUNT, connection, google_org
from tests.support.secret_manager import secret_manager_store

NOW = datetime(2026, 11, 23, 2, 5, tzinfo=UTC)
DAYS = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
DAILY = SyncRequest(enterprise_id=ENTERPRISE_ID, start=DAYS[0], end=date(2026, 11, 23), reason="daily")
CENT = Decimal("0.01")
GOOGLE = ProviderName.GOOGLE


@pytest.fixture(scope="module")
def secret_server() -> Iterator[Any]:
    with secret_manager_store() as (_, server):
        yield server


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator(now=lambda: NOW)
    sim.add_google_org(google_org())
    with serve(sim) as running:
        yield running


@dataclass
class Stack:
    sim: ProviderSimulator
    db: Any
    use_case: SyncEnterprise
    mailer: FakeMailer
    enterprises: FirestoreEnterprises

    def sync(self) -> SyncReport:
        return self.use_case.run(DAILY, read_id="task-1")

    def snapshot(self, day: date) -> dict[str, Any]:
        ref = self.db.document(f"enterprises/{ENTERPRISE_ID}/usage_snapshots/{day.isoformat()}").get()
        assert ref.exists
        return dict(ref.to_dict())

    def status(self) -> ProviderStatus:
        enterprise = self.enterprises.get(ENTERPRISE_ID)
        assert enterprise is not None
        return enterprise.providers[GOOGLE].status


def build_stack(db: Any, secret_server: Any, running: RunningSimulator, secret: SecretStr) -> Stack:
    settings = Settings(
        project_id=TEST_PROJECT,
        secret_manager_emulator_host=secret_server.address,
        provider_max_retries=1,
        provider_backoff_base_s=0.01,
        provider_backoff_max_s=0.05,
        **{k.lower(): v for k, v in running.google_env().items()},
    )
    clock = FixedClock(NOW)
    secrets = SecretManagerStore(settings)
    enterprises, connections = FirestoreEnterprises(db), FirestoreProviderConnections(db)
    enterprises.create(make_enterprise(NOW))
    ref = secrets.add_version(secret_id_for(ENTERPRISE_ID, "google"), secret, {})
    connections.save_connection(
        ENTERPRISE_ID,
        GOOGLE,
        state=ProviderState(connected=True, status=ProviderStatus.CONNECTED, project_ids=["acme-prod-ai"]),
        record=ProviderKeyRecord(secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=NOW),
        audit=AuditEntry(
            id=f"connect-google-{ref.version}",
            at=NOW,
            action=AuditAction.CONNECT,
            provider=GOOGLE,
            actor=Actor.system("t"),
        ),
        expected_version=None,
    )
    mailer = FakeMailer()
    use_case = SyncEnterprise(
        enterprises=enterprises,
        connections=connections,
        secrets=secrets,
        sources=ProviderUsageSources(settings, clock),
        snapshots=FirestoreSnapshots(db),
        leases=FirestoreLeases(db),
        coverage=SyncCoverageRecorder(
            coverage=FirestoreCoverage(db), mailer=mailer, tasks=FakeTaskQueue(), clock=clock, settings=settings
        ),
        audit_log=FirestoreAuditLog(db),
        key_health=KeyHealth(
            enterprises=enterprises, connections=connections, mailer=mailer, clock=clock, settings=settings
        ),
        tasks=FakeTaskQueue(),
        clock=clock,
        settings=settings,
    )
    return Stack(running.sim, db, use_case, mailer, enterprises)


@pytest.fixture
def stack(firestore_db: Any, secret_server: Any, running: RunningSimulator) -> Iterator[Stack]:
    running.sim.set_faults(Faults())
    yield build_stack(firestore_db, secret_server, running, connection(running.sim))
    running.sim.set_faults(Faults())


def test_billed_snapshots_equal_the_billing_export_to_the_cent(stack: Stack) -> None:
    report = stack.sync()

    assert (report.retry, report.providers["google"].outcome) == (False, Outcome.SYNCED)
    for day in DAYS:
        doc, truth = stack.snapshot(day), stack.sim.google_truth(BILLING_ACCOUNT, day)
        google = doc["by_provider"]["google"]
        assert (google["cost_source"], doc["cost_sources"]) == ("billed", {"google": "billed"})
        assert Decimal(doc["totals"]["total_cost_usd"]).quantize(CENT) == truth.billed_cost_usd.quantize(CENT)
        assert Decimal(doc["totals"]["estimated_cost_usd"]) == 0
        assert (doc["totals"]["input_tokens"], doc["totals"]["output_tokens"]) == (
            truth.input_tokens,
            truth.output_tokens,
        )
        assert doc["rates"]["effective_blended_rate"] is not None  # billed money gives an effective rate
        assert sorted(k for k in doc["by_project"]) == ["google:acme-prod-ai", "google:acme-studio"]
    month = stack.db.document(f"enterprises/{ENTERPRISE_ID}/usage_months/2026-11").get().to_dict()
    expected = sum((stack.sim.google_truth(BILLING_ACCOUNT, d).billed_cost_usd for d in DAYS), Decimal(0))
    assert Decimal(month["totals"]["total_cost_usd"]).quantize(CENT) == expected.quantize(CENT)
    assert month["by_provider"]["google"]["cost_source"] == "billed"


def test_without_billing_export_snapshots_hold_the_list_price_estimate_labelled_estimated(
    firestore_db: Any, secret_server: Any, running: RunningSimulator
) -> None:
    stack = build_stack(firestore_db, secret_server, running, connection(running.sim, table=None))
    stack.sync()
    for day in DAYS:
        doc, truth = stack.snapshot(day), stack.sim.google_truth(BILLING_ACCOUNT, day)
        assert doc["cost_sources"] == {"google": "estimated"}
        estimated = truth.estimated_cost_usd.quantize(CENT)
        assert Decimal(doc["totals"]["total_cost_usd"]).quantize(CENT) == estimated
        assert Decimal(doc["totals"]["estimated_cost_usd"]).quantize(CENT) == estimated
        assert doc["rates"]["effective_blended_rate"] is None  # no rate from an estimate
        assert doc["reconciliation"]["google"]["flagged"] is False


@pytest.mark.parametrize(
    ("breakage", "code"),
    [("disabled-key", "provider_key_invalid"), ("billing-role-removed", "billing_export_unreadable")],
)
def test_a_refused_google_key_marks_the_connection_failed_and_tells_the_admins_once(
    stack: Stack, breakage: str, code: str
) -> None:
    if breakage == "disabled-key":
        stack.sim.google.disable_key(stack.sim.google.key(BILLING_ACCOUNT, "usage-reader")["private_key_id"])
    else:
        stack.sim.set_faults(Faults(google_denied="billing"))

    report = stack.sync()

    assert not report.retry
    assert (report.providers["google"].outcome, report.providers["google"].code) == (Outcome.KEY_FAILED, code)
    assert stack.status() is ProviderStatus.KEY_FAILED
    [mail] = stack.mailer.sent
    assert "service-account key" in mail["Subject"]
    assert stack.sync().providers["google"].outcome is Outcome.NOT_CONNECTED
    assert len(stack.mailer.sent) == 1
    if breakage == "disabled-key":  # the other tests use the same simulated account: give it a working key again
        stack.sim.add_google_org(google_org())
