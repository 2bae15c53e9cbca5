"""The sync worker's use case for an Amazon Bedrock connection with every real adapter: the simulator's STS,
CloudWatch and Cost Explorer over HTTP, the Firestore emulator and the local Secret Manager. Expected figures are the
simulator's ground truth (``sim.bedrock_truth``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from devstack.provider_sim import RunningSimulator, serve
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
from shared.services.sync.sync_report import Outcome, SyncRequest
from tests.conftest import TEST_PROJECT
from tests.support.bedrock_sim import ACCOUNT, bedrock_account, connection
from tests.support.connect_world import ENTERPRISE_ID, make_enterprise
from tests.support.fake_mailer import FakeMailer
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FixedClock
from tests.support.secret_manager import secret_manager_store

NOW = datetime.now(UTC)
TODAY = NOW.date()
DAYS = [TODAY - timedelta(days=n) for n in (3, 2, 1)]
DAILY = SyncRequest(enterprise_id=ENTERPRISE_ID, start=DAYS[0], end=TODAY, reason="daily")
CENT = Decimal("0.01")
BEDROCK = ProviderName.BEDROCK


@pytest.fixture(scope="module")
def secret_server() -> Iterator[Any]:
    with secret_manager_store() as (_, server):
        yield server


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator()
    sim.add_bedrock_account(bedrock_account(ENTERPRISE_ID, history_start=TODAY - timedelta(days=20)))
    with serve(sim) as running:
        yield running


def _use_case(
    db: Any, secret_server: Any, running: RunningSimulator, secret: SecretStr
) -> tuple[SyncEnterprise, FakeMailer]:
    settings = Settings(
        project_id=TEST_PROJECT,
        secret_manager_emulator_host=secret_server.address,
        firebase_auth_emulator_host="127.0.0.1:9099",
        provider_max_retries=1,
        provider_backoff_base_s=0.01,
        provider_backoff_max_s=0.05,
        **{k.lower(): v for k, v in running.aws_env().items()},
    )
    clock = FixedClock(NOW)
    secrets = SecretManagerStore(settings)
    enterprises, connections = FirestoreEnterprises(db), FirestoreProviderConnections(db)
    enterprises.create(make_enterprise(NOW))
    ref = secrets.add_version(secret_id_for(ENTERPRISE_ID, "bedrock"), secret, {})
    connections.save_connection(
        ENTERPRISE_ID,
        BEDROCK,
        state=ProviderState(connected=True, status=ProviderStatus.CONNECTED, cost_explorer_connected=True),
        record=ProviderKeyRecord(secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=NOW),
        audit=AuditEntry(
            id=f"connect-bedrock-{ref.version}",
            at=NOW,
            action=AuditAction.CONNECT,
            provider=BEDROCK,
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
    return use_case, mailer


def test_billed_snapshots_equal_cost_explorer_to_the_cent_by_region(
    firestore_db: Any, secret_server: Any, running: RunningSimulator
) -> None:
    use_case, _ = _use_case(firestore_db, secret_server, running, connection(ENTERPRISE_ID))
    report = use_case.run(DAILY, read_id="task-1")

    assert (report.retry, report.providers["bedrock"].outcome) == (False, Outcome.SYNCED)
    for day in DAYS:
        doc = firestore_db.document(f"enterprises/{ENTERPRISE_ID}/usage_snapshots/{day.isoformat()}").get().to_dict()
        truth = running.sim.bedrock_truth(ACCOUNT, day)
        assert doc["cost_sources"] == {"bedrock": "billed"}
        assert Decimal(doc["totals"]["total_cost_usd"]).quantize(CENT) == truth.billed_usd.quantize(CENT)
        assert doc["totals"]["input_tokens"] + doc["totals"]["output_tokens"] == truth.total_tokens
        assert set(doc["by_project"]) <= {"bedrock:us-east-1", "bedrock:eu-central-1"}


def test_a_role_that_no_longer_trusts_the_platform_marks_the_connection_failed_and_tells_the_admins_once(
    firestore_db: Any, secret_server: Any, running: RunningSimulator
) -> None:
    use_case, mailer = _use_case(firestore_db, secret_server, running, connection(ENTERPRISE_ID))
    account = running.sim.aws.account(ACCOUNT)
    trusted, account.external_id = account.external_id, "usage-tracking-someone-else"  # the trust policy was edited
    try:
        report = use_case.run(DAILY, read_id="task-1")
    finally:
        account.external_id = trusted

    assert not report.retry
    assert (report.providers["bedrock"].outcome, report.providers["bedrock"].code) == (
        Outcome.KEY_FAILED,
        "aws_role_not_assumable",
    )
    [mail] = mailer.sent
    assert "IAM role" in mail["Subject"]
    assert use_case.run(DAILY, read_id="task-2").providers["bedrock"].outcome is Outcome.NOT_CONNECTED
    assert len(mailer.sent) == 1
