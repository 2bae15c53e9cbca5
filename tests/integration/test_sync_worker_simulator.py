"""The sync worker's use case with every real adapter: the provider simulator over HTTP, the Firestore emulator and
the local Secret Manager. Expected figures are the simulator's ground truth (``sim.truth``), not our own code's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from devstack.provider_sim import DayTruth, Faults, RunningSimulator
from shared.adapters.firestore_audit import FirestoreAuditLog
from shared.adapters.firestore_connections import FirestoreProviderConnections
from shared.adapters.firestore_coverage import FirestoreCoverage
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_leases import FirestoreLeases
from shared.adapters.firestore_raw_pages import read_pages
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
from tests.support.provider_sim import ANTHROPIC_ADMIN, OPENAI_ADMIN, MovableClock, openai_org, running_simulator
from tests.support.secret_manager import secret_manager_store

NOW = datetime(2026, 11, 23, 2, 5, tzinfo=UTC)
DAYS = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
DAILY = SyncRequest(enterprise_id=ENTERPRISE_ID, start=DAYS[0], end=date(2026, 11, 23), reason="daily")
ORGS = {ProviderName.OPENAI: "org-acme", ProviderName.ANTHROPIC: "org-initech"}
KEYS = {ProviderName.OPENAI: OPENAI_ADMIN, ProviderName.ANTHROPIC: ANTHROPIC_ADMIN}
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def secret_server() -> Iterator[Any]:
    with secret_manager_store() as (_, server):
        yield server


@pytest.fixture
def sim_clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def running(sim_clock: MovableClock) -> Iterator[RunningSimulator]:
    with running_simulator(sim_clock) as running:
        yield running


@dataclass
class Stack:
    running: RunningSimulator
    db: Any
    use_case: SyncEnterprise
    mailer: FakeMailer
    enterprises: FirestoreEnterprises
    tasks: FakeTaskQueue

    def sync(self) -> SyncReport:
        return self.use_case.run(DAILY, read_id="task-1")

    def truth(self, provider: ProviderName, day: date) -> DayTruth:
        return self.running.sim.truth(ORGS[provider], day)

    def documents(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        """Every snapshot and rollup document with its update time."""
        base = self.db.collection("enterprises").document(ENTERPRISE_ID)
        found = {}
        for name in ("usage_snapshots", "usage_months"):
            for snap in base.collection(name).stream():
                found[f"{name}/{snap.id}"] = (snap.update_time, snap.to_dict())
        return found

    def snapshot(self, day: date) -> dict[str, Any] | None:
        ref = self.db.document(f"enterprises/{ENTERPRISE_ID}/usage_snapshots/{day.isoformat()}").get()
        return ref.to_dict() if ref.exists else None


@pytest.fixture
def stack(firestore_db: Any, secret_server: Any, running: RunningSimulator) -> Iterator[Stack]:
    settings = Settings(
        project_id=TEST_PROJECT,
        secret_manager_emulator_host=secret_server.address,
        openai_base_url=running.openai_base_url,
        anthropic_base_url=running.anthropic_base_url,
        provider_max_retries=2,
        provider_backoff_base_s=0.01,
        provider_backoff_max_s=0.05,
        provider_read_timeout_s=0.5,
        provider_concurrency=16,
    )
    clock = FixedClock(NOW)
    secrets = SecretManagerStore(settings)
    enterprises = FirestoreEnterprises(firestore_db)
    connections = FirestoreProviderConnections(firestore_db)
    enterprises.create(make_enterprise(NOW))
    for provider, key in KEYS.items():
        ref = secrets.add_version(secret_id_for(ENTERPRISE_ID, provider.value), SecretStr(key), {})
        connections.save_connection(
            ENTERPRISE_ID,
            provider,
            state=ProviderState(connected=True, status=ProviderStatus.CONNECTED, org_id=ORGS[provider]),
            record=ProviderKeyRecord(secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=NOW),
            audit=AuditEntry(
                id=f"connect-{provider.value}-{ref.version}",
                at=NOW,
                action=AuditAction.CONNECT,
                provider=provider,
                actor=Actor.system("test"),
            ),
            expected_version=None,
        )
    mailer, tasks = FakeMailer(), FakeTaskQueue()
    use_case = SyncEnterprise(
        enterprises=enterprises,
        connections=connections,
        secrets=secrets,
        sources=ProviderUsageSources(settings, clock),
        snapshots=FirestoreSnapshots(firestore_db),
        leases=FirestoreLeases(firestore_db),
        coverage=SyncCoverageRecorder(
            coverage=FirestoreCoverage(firestore_db),
            mailer=mailer,
            tasks=tasks,
            clock=clock,
            settings=settings,
        ),
        audit_log=FirestoreAuditLog(firestore_db),
        key_health=KeyHealth(
            enterprises=enterprises, connections=connections, mailer=mailer, clock=clock, settings=settings
        ),
        tasks=tasks,
        clock=clock,
        settings=settings,
    )
    yield Stack(running, firestore_db, use_case, mailer, enterprises, tasks)
    secrets.close()


_OUTPUT = {"output", "audio_output", "image_output"}
_CACHE_READS = {"cache_read", "audio_cache_read", "image_cache_read"}


def token_totals(truth: DayTruth) -> tuple[int, int, int]:
    """Every modality counts: input and output tokens include audio and image, cached tokens every cache read."""
    inputs = sum(r.tokens for r in truth.rows if r.token_type not in _OUTPUT)
    cached = sum(r.tokens for r in truth.rows if r.token_type in _CACHE_READS)
    return inputs, sum(r.tokens for r in truth.rows if r.token_type in _OUTPUT), cached


def test_snapshots_equal_the_simulators_usage_and_cost(stack: Stack) -> None:
    report = stack.sync()
    assert not report.retry
    for day in DAYS:
        doc = stack.snapshot(day)
        assert doc is not None
        billed = Decimal(0)
        for provider in ProviderName.OPENAI, ProviderName.ANTHROPIC:
            truth = stack.truth(provider, day)
            assert truth.complete
            tally = doc["by_provider"][provider.value]["tally"]
            assert (tally["input_tokens"], tally["output_tokens"], tally["cached_tokens"]) == token_totals(truth)
            assert Decimal(tally["cost_usd"]).quantize(CENT) == truth.billed_cost_usd.quantize(CENT)
            billed += truth.billed_cost_usd
        assert Decimal(doc["totals"]["total_cost_usd"]).quantize(CENT) == billed.quantize(CENT)
        assert doc["benchmark"]["stci_frontier_blended"] is not None
    month = stack.db.document(f"enterprises/{ENTERPRISE_ID}/usage_months/2026-11").get().to_dict()
    assert month["days"] == 3
    expected = sum((stack.truth(p, d).billed_cost_usd for p in ORGS for d in DAYS), Decimal(0))
    assert Decimal(month["totals"]["total_cost_usd"]).quantize(CENT) == expected.quantize(CENT)
    state = stack.enterprises.get(ENTERPRISE_ID)
    assert state is not None
    assert state.providers[ProviderName.OPENAI].last_sync == NOW


def test_the_tasks_raw_pages_are_one_document_without_any_key(stack: Stack) -> None:
    """Both providers' pages of a daily task land in one compressed ``raw_responses`` document (not one per page),
    each page as the client received it with its query redacted, and neither admin key anywhere in it."""
    report = stack.sync()
    docs = list(stack.db.collection(f"enterprises/{ENTERPRISE_ID}/raw_responses").stream())
    assert [d.id for d in docs] == ["20261120_20261123_anthropic+openai_00"]
    stored = docs[0].to_dict()
    pages = read_pages(stored)
    assert report.raw_pages == stored["pages"] == len(pages) > 2
    assert {p["provider"] for p in pages} == {"openai", "anthropic"}
    assert stored["expire_at"] == NOW + timedelta(days=7)  # kept 7 days for support
    dumped = json.dumps(pages) + repr(stored)
    assert OPENAI_ADMIN not in dumped
    assert ANTHROPIC_ADMIN not in dumped
    stack.sync()  # a repeated delivery overwrites the same document
    assert len(list(stack.db.collection(f"enterprises/{ENTERPRISE_ID}/raw_responses").stream())) == 1


def test_delivering_the_same_task_twice_leaves_every_document_unchanged(stack: Stack) -> None:
    stack.sync()
    before = stack.documents()
    assert len(before) == 4  # three days and their month
    again = stack.sync()
    assert (again.days_written, again.months_written) == (0, 0)
    assert stack.documents() == before  # same content, same update times: nothing was written


@pytest.mark.parametrize(
    ("faults", "failing"),
    [
        (Faults(provider="openai", rate_limit_every_n=1, retry_after_s=0), ProviderName.OPENAI),
        (Faults(provider="anthropic", error_every_n=1, error_status=500), ProviderName.ANTHROPIC),
        (Faults(provider="openai", hang_ms=5000), ProviderName.OPENAI),
    ],
    ids=["429-storm", "500s", "hang"],
)
def test_transient_faults_store_the_other_provider_and_ask_for_a_retry(
    stack: Stack, faults: Faults, failing: ProviderName
) -> None:
    stack.running.sim.set_faults(faults)
    report = stack.sync()
    assert report.retry
    assert report.providers[failing.value].outcome is Outcome.RETRY
    other = next(p for p in ORGS if p is not failing)
    assert report.providers[other.value].outcome is Outcome.SYNCED
    doc = stack.snapshot(DAYS[0])
    assert doc is not None
    assert list(doc["by_provider"]) == [other.value]
    stack.running.sim.set_faults(Faults())
    healed = stack.sync()  # the queue's retry
    assert not healed.retry
    doc = stack.snapshot(DAYS[0])
    assert doc is not None
    assert sorted(doc["by_provider"]) == ["anthropic", "openai"]


def test_a_malformed_day_leaves_the_good_snapshot_in_place(stack: Stack) -> None:
    stack.sync()
    before = stack.documents()
    stack.running.sim.set_faults(Faults(malformed_day=DAYS[1], malformed_provider="openai"))
    report = stack.sync()
    assert not report.retry
    assert report.providers["openai"].failed_days == [DAYS[1].isoformat()]
    assert stack.documents() == before


def test_a_revoked_key_is_recorded_and_acknowledged(stack: Stack) -> None:
    stack.running.sim.revoke_key(OPENAI_ADMIN)
    report = stack.sync()
    assert not report.retry
    assert report.providers["openai"].outcome is Outcome.KEY_FAILED
    assert report.providers["anthropic"].outcome is Outcome.SYNCED
    state = stack.enterprises.get(ENTERPRISE_ID)
    assert state is not None
    assert state.providers[ProviderName.OPENAI].status is ProviderStatus.KEY_FAILED
    assert len(stack.mailer.sent) == 1
    assert stack.sync().providers["openai"].outcome is Outcome.NOT_CONNECTED  # no retry storm on a dead key
    assert len(stack.mailer.sent) == 1


def test_a_day_pulled_before_its_cost_arrived_is_pending_then_settles_to_the_cent(
    stack: Stack, sim_clock: MovableClock
) -> None:
    """Cost data lags usage (provider-apis.md §1.6 "costs may take 24-48 h to appear"; cost-accuracy-and-focus.md
    §3.7): the simulator's ``cost_lag_days`` answers the cost endpoints with empty buckets for the latest days."""
    stack.running.sim.add_org(openai_org(cost_lag_days=2))
    assert not stack.truth(ProviderName.OPENAI, DAYS[2]).cost_reported
    stack.sync()
    doc = stack.snapshot(DAYS[2])
    assert doc is not None
    openai = doc["by_provider"]["openai"]
    assert (openai["pending_days"], Decimal(openai["tally"]["cost_usd"])) == (1, 0)
    assert openai["rate_basis"]["input_tokens"] == 0  # kept out of the effective rates until billed
    # Inside the re-pull window: the next daily runs pull it again anyway, so the coverage record is not written.
    assert ProviderName.OPENAI not in FirestoreCoverage(stack.db).all(ENTERPRISE_ID)

    sim_clock.advance(timedelta(days=1))  # the provider's cost report now has the day
    stack.sync()  # the next daily run re-pulls it
    doc = stack.snapshot(DAYS[2])
    assert doc is not None
    truth = stack.truth(ProviderName.OPENAI, DAYS[2])
    assert truth.cost_reported
    openai = doc["by_provider"]["openai"]
    assert openai.get("pending_days", 0) == 0
    assert Decimal(openai["tally"]["cost_usd"]).quantize(CENT) == truth.billed_cost_usd.quantize(CENT)
    assert ProviderName.OPENAI not in FirestoreCoverage(stack.db).all(ENTERPRISE_ID)


def test_a_window_whose_task_exhausted_its_retries_is_repaired_by_the_next_daily_run(stack: Stack) -> None:
    """Cloud Tasks stops after ``max_attempts``; the worker's last attempt records the window missing and admins are
    told once; the next daily run enqueues a repair that pulls it again, equal to the truth to the cent."""
    window = SyncRequest(
        enterprise_id=ENTERPRISE_ID,
        providers=[ProviderName.OPENAI],
        start=date(2026, 10, 1),
        end=date(2026, 11, 1),
        reason="backfill",
    )
    stack.running.sim.set_faults(Faults(provider="openai", error_every_n=1, error_status=503))
    report = stack.use_case.run(window, read_id="backfill-openai-oct", last_attempt=True)
    assert not report.retry  # acknowledged: no retry is coming
    assert report.providers["openai"].outcome is Outcome.MISSING
    assert stack.snapshot(date(2026, 10, 15)) is None  # nothing to show, and not $0: the day is recorded missing
    coverage = FirestoreCoverage(stack.db).all(ENTERPRISE_ID)[ProviderName.OPENAI]
    assert len(coverage.missing) == 31
    assert len(stack.mailer.sent) == 1

    stack.running.sim.set_faults(Faults())
    stack.sync()  # the next daily run
    (repair,) = [t for t in stack.tasks.tasks("usage-sync") if t.payload["reason"] == "repair"]
    assert (repair.payload["start"], repair.payload["end"]) == ("2026-10-01", "2026-11-01")
    stack.use_case.run(SyncRequest.model_validate(repair.payload), read_id=repair.name)

    for day in (date(2026, 10, 1), date(2026, 10, 15), date(2026, 10, 31)):
        doc = stack.snapshot(day)
        assert doc is not None
        truth = stack.truth(ProviderName.OPENAI, day)
        assert Decimal(doc["by_provider"]["openai"]["tally"]["cost_usd"]).quantize(
            CENT
        ) == truth.billed_cost_usd.quantize(CENT)
    assert ProviderName.OPENAI not in FirestoreCoverage(stack.db).all(ENTERPRISE_ID) or not (
        FirestoreCoverage(stack.db).all(ENTERPRISE_ID)[ProviderName.OPENAI].missing
    )
