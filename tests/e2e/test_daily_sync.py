"""The daily sync end to end: ``sync_dispatch`` → real Cloud Tasks emulator → front door → ``sync_worker``.

Both functions run under functions-framework, as deployed, with their settings in the environment: the Firestore
emulator, the local Secret Manager (where the enterprises' keys are: three with admin keys, two with a Google
service-account key, one of them with a billing export, three with an Amazon Bedrock role, one of them with Cost
Explorer and one with a CUR 2.0 export, two with an Azure OpenAI federated app, one of them with Cost Management),
the provider simulator and ``FUNCTION_BASE_URL`` pointing at a front door that strips ``/sync_worker`` like
Google's function URLs. The expected figures are the simulator's ground truth. The usage API (``api``) then shows
which Google figures are billed and which are estimated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from devstack.frontdoor import FrontDoor
from devstack.provider_sim import Faults, ProviderSimulator, RunningSimulator, serve
from devstack.provider_sim.aws_data import CurExport as SimCur
from devstack.secret_manager_server import RunningSecretServer, start_server
from devstack.tasks_emulator import start_tasks_emulator
from devstack.tokens import mint_oidc_token, uid_for_email
from shared.adapters.firestore_connections import FirestoreProviderConnections
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.secret_manager import SecretManagerStore
from shared.config import Settings
from shared.domain.connections.provider_keys import ProviderKeyRecord, key_id_for
from shared.domain.connections.secret_naming import secret_id_for
from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry
from shared.domain.enterprise.model import Enterprise, Member, ProviderName, ProviderState, ProviderStatus, Role
from shared.domain.providers.bedrock.cur import CurExport
from shared.domain.sync.backfill import backfill_span, backfill_tasks
from shared.ports import TaskSpec
from tests.conftest import LOG_DIR, TEST_PROJECT
from tests.support.azure_sim import azure_tenant
from tests.support.azure_sim import connection as azure_connection
from tests.support.bedrock_sim import bedrock_account
from tests.support.bedrock_sim import connection as bedrock_connection
from tests.support.e2e_connect import bearer
from tests.support.functions import start_function
from tests.support.google_sim import BILLING_ACCOUNT as GOOGLE_BILLING_ACCOUNT
from tests.support.google_sim import TABLE as GOOGLE_TABLE
from tests.support.google_sim import connection as google_connection
from tests.support.google_sim import google_org
from tests.support.provider_sim import anthropic_org, openai_org

TODAY = datetime.now(UTC).date()
CENT = Decimal("0.01")
QUEUE = "usage-sync"

# enterprise → provider → (simulated organisation id, admin key)
ENTERPRISES: dict[str, dict[ProviderName, tuple[str, str]]] = {
    "ent_e2e_acme": {ProviderName.OPENAI: ("org-e2e-acme", "sk-admin-e2e-acme-0000000000")},
    "ent_e2e_initech": {ProviderName.ANTHROPIC: ("org-e2e-initech", "sk-ant-admin01-e2e-initech-00000000")},
    "ent_e2e_globex": {
        ProviderName.OPENAI: ("org-e2e-globex", "sk-admin-e2e-globex-0000000000"),
        ProviderName.ANTHROPIC: ("org-e2e-umbrella", "sk-ant-admin01-e2e-umbrella-0000000"),
    },
}
# enterprise → billing export table (``None``: costs estimated at list prices); both read the same billing account.
GOOGLE_ENTERPRISES: dict[str, str | None] = {"ent_e2e_gbilled": GOOGLE_TABLE, "ent_e2e_gestimated": None}
# enterprise → (AWS account, Cost Explorer connected: billed, else estimated at list prices)
BEDROCK_ENTERPRISES: dict[str, tuple[str, bool]] = {
    "ent_e2e_bbilled": ("210987654321", True),
    "ent_e2e_bestimated": ("321098765432", False),
    "ent_e2e_bcur": ("432109876543", True),
}
BEDROCK_CUR = {"ent_e2e_bcur": CurExport(bucket="e2e-billing", path="cur/bedrock-cur2", region="eu-west-1")}
"""Billed from a CUR 2.0 export in S3, Cost Explorer being off in the account."""
# enterprise → Cost Management connected (billed), else estimated at Azure's list prices (or unpriced)
AZURE_ENTERPRISES: dict[str, bool] = {"ent_e2e_abilled": True, "ent_e2e_aestimated": False}
ALL_ENTERPRISES = [*ENTERPRISES, *GOOGLE_ENTERPRISES, *BEDROCK_ENTERPRISES, *AZURE_ENTERPRISES]


# The enterprise that connects OpenAI and Anthropic through the connect function: 90 days of history each.
BACKFILL_ENTERPRISE = "ent_e2e_backfill"
BACKFILL_ADMIN = "admin@ent-e2e-backfill.example"
BACKFILL_ORGS = {
    ProviderName.OPENAI: ("org-e2ebackfilloai", "sk-admin-e2e-backfill-0000000000"),
    ProviderName.ANTHROPIC: ("org-e2e-backfill-ant", "sk-ant-admin01-e2e-backfill-000000000"),
}


@dataclass
class Platform:
    sim: ProviderSimulator
    dispatch_url: str
    base_url: str
    settings: Settings
    connect_url: str


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator()  # the real clock, like the functions'
    history = TODAY - timedelta(days=30)
    seed = 11
    for orgs in ENTERPRISES.values():
        for provider, (org_id, key) in orgs.items():
            factory = openai_org if provider is ProviderName.OPENAI else anthropic_org
            seed += 1
            sim.add_org(
                factory(
                    org_id=org_id,
                    name=org_id,
                    admin_keys=[SecretStr(key)],
                    project_keys=[],
                    seed=seed,
                    history_start=history,
                )
            )
    sim.add_google_org(google_org(history_start=history))
    for provider, (org_id, key) in BACKFILL_ORGS.items():
        factory = openai_org if provider is ProviderName.OPENAI else anthropic_org
        sim.add_org(
            factory(
                org_id=org_id,
                name=org_id,
                admin_keys=[SecretStr(key)],
                project_keys=[],
                seed=41,
                history_start=TODAY - timedelta(days=120),
            )
        )
    for enterprise_id, (account_id, _) in BEDROCK_ENTERPRISES.items():
        cur = BEDROCK_CUR.get(enterprise_id)
        extra: dict[str, object] = {}
        if cur is not None:
            extra = {"cost_explorer_enabled": False, "cur": SimCur(cur.bucket, cur.path, cur.region)}
        sim.add_bedrock_account(bedrock_account(enterprise_id, account_id, history_start=history, **extra))
    for enterprise_id in AZURE_ENTERPRISES:
        sim.add_azure_tenant(azure_tenant(enterprise_id, history_start=history))
    with serve(sim) as running:
        yield running


@pytest.fixture(scope="module")
def secret_server() -> Iterator[RunningSecretServer]:
    with start_server() as server:
        yield server


@pytest.fixture(scope="module")
def platform(
    firestore_host: str, simulator: RunningSimulator, secret_server: RunningSecretServer
) -> Iterator[Platform]:
    door = FrontDoor("127.0.0.1", 0, {}, health=lambda: {"ok": True})
    door.start()
    tasks = start_tasks_emulator(
        project=TEST_PROJECT, region="europe-west1", queues=[QUEUE], log_path=LOG_DIR / "e2e-tasks-emulator.log"
    )
    env = {
        "PROJECT_ID": TEST_PROJECT,
        "REGION": "europe-west1",
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
        "CLOUD_TASKS_EMULATOR_HOST": tasks.address,
        "SECRET_MANAGER_EMULATOR_HOST": secret_server.address,
        "OPENAI_BASE_URL": simulator.openai_base_url,
        "ANTHROPIC_BASE_URL": simulator.anthropic_base_url,
        **simulator.google_env(),
        **simulator.aws_env(),
        **simulator.azure_env(),
        "FUNCTION_BASE_URL": door.url,
    }
    started = []
    try:
        for target in ("sync_worker", "sync_dispatch"):
            managed, url = start_function("sync", target, env, log_dir=LOG_DIR)
            started.append(managed)
            door.functions[target] = url
        managed, connect_url = start_function("connect", "connect", env, log_dir=LOG_DIR / "backfill")
        started.append(managed)
        settings = Settings(project_id=TEST_PROJECT, function_base_url=door.url)
        yield Platform(simulator.sim, door.functions["sync_dispatch"], door.url, settings, connect_url)
    finally:
        for managed in started:
            managed.stop()
        tasks.stop()
        door.stop()


def connect_all(db: Any, secret_server: RunningSecretServer, sim: ProviderSimulator) -> None:
    """The state the connect flow leaves: keys in Secret Manager, provider states and key records in Firestore."""
    now = datetime.now(UTC)
    secrets = SecretManagerStore(Settings(project_id=TEST_PROJECT, secret_manager_emulator_host=secret_server.address))
    enterprises, connections = FirestoreEnterprises(db), FirestoreProviderConnections(db)
    for enterprise_id, orgs in ENTERPRISES.items():
        admin = Member(email=f"admin@{enterprise_id}.example", role=Role.ADMIN, added_at=now)
        enterprises.create(
            Enterprise(
                id=enterprise_id,
                name=enterprise_id,
                created_at=now,
                updated_at=now,
                created_by="admin",
                members={"admin": admin},
                member_uids=["admin"],
            )
        )
        for provider, (org_id, key) in orgs.items():
            ref = secrets.add_version(secret_id_for(enterprise_id, provider.value), SecretStr(key), {})
            connections.save_connection(
                enterprise_id,
                provider,
                state=ProviderState(connected=True, status=ProviderStatus.CONNECTED, org_id=org_id),
                record=ProviderKeyRecord(secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=now),
                audit=AuditEntry(
                    id=f"connect-{provider.value}-v{ref.version}",
                    at=now,
                    action=AuditAction.CONNECT,
                    provider=provider,
                    actor=Actor.system("e2e"),
                ),
                expected_version=None,
            )
    for enterprise_id, table in GOOGLE_ENTERPRISES.items():
        email = f"admin@{enterprise_id}.example"
        uid = uid_for_email(email)
        enterprises.create(
            Enterprise(
                id=enterprise_id,
                name=enterprise_id,
                created_at=now,
                updated_at=now,
                created_by=uid,
                members={uid: Member(email=email, role=Role.ADMIN, added_at=now)},
                member_uids=[uid],
            )
        )
        ref = secrets.add_version(secret_id_for(enterprise_id, "google"), google_connection(sim, table=table), {})
        connections.save_connection(
            enterprise_id,
            ProviderName.GOOGLE,
            state=ProviderState(connected=True, status=ProviderStatus.CONNECTED, billing_export_connected=bool(table)),
            record=ProviderKeyRecord(secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=now),
            audit=AuditEntry(
                id=f"connect-google-v{ref.version}",
                at=now,
                action=AuditAction.CONNECT,
                provider=ProviderName.GOOGLE,
                actor=Actor.system("e2e"),
            ),
            expected_version=None,
        )
    for enterprise_id, (account_id, billed) in BEDROCK_ENTERPRISES.items():
        cur = BEDROCK_CUR.get(enterprise_id)
        key = bedrock_connection(enterprise_id, account_id, cost_explorer=billed and cur is None, cur=cur)
        state = ProviderState(connected=True, status=ProviderStatus.CONNECTED, cost_explorer_connected=billed)
        _connect_channel(enterprises, connections, secrets, enterprise_id, ProviderName.BEDROCK, key, state, now)
    for enterprise_id, billed in AZURE_ENTERPRISES.items():
        tenant = sim.azure.tenant(azure_tenant(enterprise_id, history_start=TODAY).tenant_id)
        assert tenant is not None
        key = azure_connection(enterprise_id, tenant, cost_management=billed)
        state = ProviderState(connected=True, status=ProviderStatus.CONNECTED, billing_export_connected=billed)
        _connect_channel(enterprises, connections, secrets, enterprise_id, ProviderName.AZURE, key, state, now)
    secrets.close()


def _connect_channel(
    enterprises: FirestoreEnterprises,
    connections: FirestoreProviderConnections,
    secrets: SecretManagerStore,
    enterprise_id: str,
    provider: ProviderName,
    key: SecretStr,
    state: ProviderState,
    now: datetime,
) -> None:
    email = f"admin@{enterprise_id}.example"
    uid = uid_for_email(email)
    members = {uid: Member(email=email, role=Role.ADMIN, added_at=now)}
    enterprises.create(
        Enterprise(
            id=enterprise_id,
            name=enterprise_id,
            created_at=now,
            updated_at=now,
            created_by=uid,
            members=members,
            member_uids=[uid],
        )
    )
    ref = secrets.add_version(secret_id_for(enterprise_id, provider.value), key, {})
    connections.save_connection(
        enterprise_id,
        provider,
        state=state,
        record=ProviderKeyRecord(secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=now),
        audit=AuditEntry(
            id=f"connect-{provider.value}-v{ref.version}",
            at=now,
            action=AuditAction.CONNECT,
            provider=provider,
            actor=Actor.system("e2e"),
        ),
        expected_version=None,
    )


def dispatch(platform: Platform) -> dict[str, Any]:
    audience = f"{platform.base_url}/sync_dispatch"
    token = mint_oidc_token(platform.settings.scheduler_service_account, audience)
    response = httpx.post(
        platform.dispatch_url, json={"frequency": "daily"}, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def documents(db: Any) -> dict[str, tuple[Any, dict[str, Any]]]:
    found = {}
    for enterprise_id in ALL_ENTERPRISES:
        base = db.collection("enterprises").document(enterprise_id)
        for name in ("usage_snapshots", "usage_months"):
            for snap in base.collection(name).stream():
                found[f"{enterprise_id}/{name}/{snap.id}"] = (snap.update_time, snap.to_dict())
    return found


def wait_for(condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the sync tasks")
        time.sleep(0.25)


def test_dispatch_fans_out_through_cloud_tasks_and_snapshots_equal_the_truth(
    platform: Platform, firestore_db: Any, secret_server: RunningSecretServer, api_url: str
) -> None:
    connect_all(firestore_db, secret_server, platform.sim)
    first = dispatch(platform)
    assert (first["enterprises"], first["tasks_created"]) == (len(ALL_ENTERPRISES), len(ALL_ENTERPRISES))
    start, end = (date.fromisoformat(first["window"][k]) for k in ("start", "end"))
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    assert len(days) == 3  # the completed days a daily run re-pulls
    expected_days = len(ALL_ENTERPRISES) * len(days)
    wait_for(lambda: sum("usage_snapshots" in k for k in documents(firestore_db)) == expected_days)

    for enterprise_id, orgs in ENTERPRISES.items():
        for day in days:
            doc = firestore_db.document(f"enterprises/{enterprise_id}/usage_snapshots/{day.isoformat()}").get()
            stored = doc.to_dict()
            truths = {p: platform.sim.truth(org_id, day) for p, (org_id, _) in orgs.items()}
            billed = sum((t.billed_cost_usd for t in truths.values()), Decimal(0))
            assert Decimal(stored["totals"]["total_cost_usd"]).quantize(CENT) == billed.quantize(CENT)
            tokens = sum(t.tokens_total for t in truths.values())
            totals = stored["totals"]
            # input_tokens already holds cache reads and writes: input + output is every token.
            assert totals["input_tokens"] + totals["output_tokens"] == tokens
            assert sorted(stored["by_provider"]) == sorted(p.value for p in orgs)
    for enterprise_id, table in GOOGLE_ENTERPRISES.items():
        source = "billed" if table else "estimated"
        for day in days:
            stored = firestore_db.document(f"enterprises/{enterprise_id}/usage_snapshots/{day.isoformat()}").get()
            doc, truth = stored.to_dict(), platform.sim.google_truth(GOOGLE_BILLING_ACCOUNT, day)
            expected = truth.billed_cost_usd if table else truth.estimated_cost_usd
            assert Decimal(doc["totals"]["total_cost_usd"]).quantize(CENT) == expected.quantize(CENT)
            estimated = Decimal(doc["totals"]["estimated_cost_usd"]).quantize(CENT)
            assert estimated == (Decimal(0) if table else expected).quantize(CENT)
            assert (doc["totals"]["input_tokens"], doc["totals"]["output_tokens"]) == (
                truth.input_tokens,
                truth.output_tokens,
            )
            assert doc["by_provider"]["google"]["cost_source"] == source
        usage = httpx.get(
            f"{api_url}/api/v1/enterprise/usage",
            params={"start": days[0].isoformat(), "end": days[-1].isoformat()},
            headers={**bearer(f"admin@{enterprise_id}.example"), "X-Enterprise-Id": enterprise_id},
        )
        assert usage.status_code == 200, usage.text
        report = usage.json()
        assert [(p["provider"], p["cost_source"]) for p in report["by_provider"]] == [("google", source)]
        assert bool(report["notes"]) is (table is None)
        assert (Decimal(report["totals"]["estimated_cost_usd"]) > 0) is (table is None)
        if table:  # billed: the usage API's total is the billing export's money, to the cent
            truths = [platform.sim.google_truth(GOOGLE_BILLING_ACCOUNT, d) for d in days]
            billed = sum((t.billed_cost_usd for t in truths), Decimal(0))
            assert Decimal(report["totals"]["total_cost_usd"]).quantize(CENT) == billed.quantize(CENT)

    for enterprise_id, (account_id, billed) in BEDROCK_ENTERPRISES.items():
        _check_bedrock(firestore_db, platform.sim, api_url, enterprise_id, account_id, billed, days)
    for enterprise_id, cost_management in AZURE_ENTERPRISES.items():
        _check_azure(firestore_db, platform.sim, api_url, enterprise_id, cost_management, days)

    # Running the dispatcher again changes nothing: the emulator even delivers the duplicate tasks (it does not
    # refuse reused names), and the worker writes nothing because nothing changed.
    wait_for(lambda: len(documents(firestore_db)) >= expected_days + len(ALL_ENTERPRISES))
    time.sleep(1.0)  # the tasks' remaining writes (months are in the days' batch)
    before = documents(firestore_db)
    requests_before = len(platform.sim.requests)
    dispatch(platform)
    wait_for(lambda: len(platform.sim.requests) >= 2 * requests_before)
    time.sleep(2.0)  # let the last worker finish storing (it would have written by now)
    assert documents(firestore_db) == before


def _check_bedrock(
    db: Any, sim: ProviderSimulator, api_url: str, enterprise_id: str, account_id: str, billed: bool, days: list[date]
) -> None:
    """Every day's tokens are CloudWatch's; its money is Cost Explorer's to the cent when billed, and otherwise an
    estimate labelled as such."""
    source = "billed" if billed else "estimated"
    for day in days:
        doc = db.document(f"enterprises/{enterprise_id}/usage_snapshots/{day.isoformat()}").get().to_dict()
        truth = sim.bedrock_truth(account_id, day)
        totals = doc["totals"]
        assert totals["input_tokens"] + totals["output_tokens"] == truth.total_tokens
        assert doc["by_provider"]["bedrock"]["cost_source"] == source
        total, estimated = Decimal(totals["total_cost_usd"]), Decimal(totals["estimated_cost_usd"])
        if billed:
            assert total.quantize(CENT) == truth.billed_usd.quantize(CENT)
            assert estimated == 0
        else:
            assert estimated == total > 0
    usage = httpx.get(
        f"{api_url}/api/v1/enterprise/usage",
        params={"start": days[0].isoformat(), "end": days[-1].isoformat()},
        headers={**bearer(f"admin@{enterprise_id}.example"), "X-Enterprise-Id": enterprise_id},
        timeout=30,
    )
    assert usage.status_code == 200, usage.text
    report = usage.json()
    assert [(p["provider"], p["cost_source"]) for p in report["by_provider"]] == [("bedrock", source)]
    if billed:
        expected = sum((sim.bedrock_truth(account_id, d).billed_usd for d in days), Decimal(0))
        assert Decimal(report["totals"]["total_cost_usd"]).quantize(CENT) == expected.quantize(CENT)


def deliver_side_by_side(platform: Platform, enterprise_id: str) -> None:
    """POST every backfill task of both providers to ``sync_worker`` at once, as the tasks invoker."""
    audience = f"{platform.base_url}/sync_worker"
    token = mint_oidc_token(platform.settings.tasks_service_account, audience)
    span = backfill_span(TODAY, platform.settings.backfill_days)
    specs = [t for p in BACKFILL_ORGS for t in backfill_tasks(enterprise_id, p, span)]
    start = threading.Barrier(len(specs))
    statuses: list[int] = []

    def deliver(spec: TaskSpec) -> None:
        start.wait()
        headers = {"Authorization": f"Bearer {token}", "X-CloudTasks-TaskName": f"by-hand-{spec.name}"}
        response = httpx.post(f"{platform.base_url}/sync_worker", json=dict(spec.payload), headers=headers, timeout=120)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=deliver, args=(spec,)) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    # 503 is a busy lease or a slow provider: Cloud Tasks would retry it (the emulator's own copy is delivered too).
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses


def test_two_providers_connected_back_to_back_backfill_90_days_equal_to_the_truth_to_the_cent(
    platform: Platform, firestore_db: Any
) -> None:
    """Issue #16: the connect flow enqueues both providers' 31-day backfill windows over the same days, and Cloud
    Tasks runs them while the providers answer slowly (0.5 s per request). Without any daily sync, once the backfill
    has drained every complete day equals the simulator's truth, and every month's rollup the sum of its days.

    The local Cloud Tasks emulator delivers one task at a time; Cloud Tasks runs them side by side and may deliver a
    task twice. So every backfill task is also delivered by hand, all at once, to the same worker (its threads), as
    a deployed queue would: the lease and the transactions run under real concurrency, answering only 200 or 503.
    (The emulator's own later deliveries would heal a part lost to a race, so the race itself is proven by the
    deterministic interleaving tests: tests/unit/test_sync_interleaving.py, tests/integration/test_sync_concurrency.py.)
    """
    now = datetime.now(UTC)
    uid = uid_for_email(BACKFILL_ADMIN)
    FirestoreEnterprises(firestore_db).create(
        Enterprise(
            id=BACKFILL_ENTERPRISE,
            name="Backfill",
            created_at=now,
            updated_at=now,
            created_by=uid,
            members={uid: Member(email=BACKFILL_ADMIN, role=Role.ADMIN, added_at=now)},
            member_uids=[uid],
        )
    )
    platform.sim.set_faults(Faults(latency_ms=500))
    try:
        for provider, (org_id, key) in BACKFILL_ORGS.items():
            body = {"admin_api_key": key} | ({"org_id": org_id} if provider is ProviderName.OPENAI else {})
            response = httpx.post(
                f"{platform.connect_url}/api/v1/enterprise/connect/{provider.value}",
                json=body,
                headers=bearer(BACKFILL_ADMIN),
                timeout=60,
            )
            assert response.status_code == 201, response.text
        deliver_side_by_side(platform, BACKFILL_ENTERPRISE)
        days = [TODAY - timedelta(days=i) for i in range(1, 90)]  # complete days (today is still partial)
        base = firestore_db.collection("enterprises").document(BACKFILL_ENTERPRISE)

        def drained() -> bool:
            stored = {s.id: s.to_dict() for s in base.collection("usage_snapshots").stream()}
            return all(len(stored.get(d.isoformat(), {}).get("by_provider", {})) == 2 for d in days)

        wait_for(drained, timeout_s=240)
    finally:
        platform.sim.set_faults(Faults())
    snapshots = {s.id: s.to_dict() for s in base.collection("usage_snapshots").stream()}
    for day in days:
        doc = snapshots[day.isoformat()]
        for provider, (org_id, _) in BACKFILL_ORGS.items():
            truth = platform.sim.truth(org_id, day)
            assert truth.complete
            tally = doc["by_provider"][provider.value]["tally"]
            assert Decimal(tally["cost_usd"]).quantize(CENT) == truth.billed_cost_usd.quantize(CENT), (day, provider)
            assert tally["input_tokens"] + tally["output_tokens"] == truth.tokens_total
    rollups, days_read = _consistent_reads(base)
    for month, rollup in rollups.items():
        in_month = [d for key, d in days_read.items() if key.startswith(month)]
        summed = sum((Decimal(d["totals"]["total_cost_usd"]) for d in in_month), Decimal(0))
        assert Decimal(rollup["totals"]["total_cost_usd"]) == summed  # a rollup never disagrees with its days
        assert rollup["days"] == len(in_month)


def _consistent_reads(base: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rollups and the days as of one moment. Late deliveries of the backfill tasks still re-pull today, whose
    partial figures grow while the test runs, and rewrite its month (days and rollup in one transaction): days read
    between two identical reads of the rollups belong to those rollups."""
    for _ in range(20):
        before = {m.id: m.to_dict() for m in base.collection("usage_months").stream()}
        days = {s.id: s.to_dict() for s in base.collection("usage_snapshots").stream()}
        if {m.id: m.to_dict() for m in base.collection("usage_months").stream()} == before:
            return before, days
        time.sleep(0.5)
    raise AssertionError("the months kept changing: the backfill never settled")


def _check_azure(
    db: Any, sim: ProviderSimulator, api_url: str, enterprise_id: str, billed: bool, days: list[date]
) -> None:
    """Every day's tokens are Azure Monitor's; its money is Cost Management's to the cent when billed, and otherwise an
    estimate labelled as such (models Azure's price data lack are unpriced, so it is no copy of the bill)."""
    tenant_id = azure_tenant(enterprise_id, history_start=TODAY).tenant_id
    source = "billed" if billed else "estimated"
    for day in days:
        doc = db.document(f"enterprises/{enterprise_id}/usage_snapshots/{day.isoformat()}").get().to_dict()
        truth = sim.azure_truth(tenant_id, day)
        totals = doc["totals"]
        assert totals["input_tokens"] + totals["output_tokens"] == truth.total_tokens
        assert doc["by_provider"]["azure"]["cost_source"] == source
        total, estimated = Decimal(totals["total_cost_usd"]), Decimal(totals["estimated_cost_usd"])
        if billed:
            assert total.quantize(CENT) == truth.billed_usd.quantize(CENT)
            assert estimated == 0
        else:
            assert estimated == total
    usage = httpx.get(
        f"{api_url}/api/v1/enterprise/usage",
        params={"start": days[0].isoformat(), "end": days[-1].isoformat()},
        headers={**bearer(f"admin@{enterprise_id}.example"), "X-Enterprise-Id": enterprise_id},
        timeout=30,
    )
    assert usage.status_code == 200, usage.text
    report = usage.json()
    assert [(p["provider"], p["cost_source"]) for p in report["by_provider"]] == [("azure", source)]
    if billed:
        expected = sum((sim.azure_truth(tenant_id, d).billed_usd for d in days), Decimal(0))
        assert Decimal(report["totals"]["total_cost_usd"]).quantize(CENT) == expected.quantize(CENT)
