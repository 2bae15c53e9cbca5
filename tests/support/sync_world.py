"""One enterprise with both providers connected, and behaving fakes of every port the sync touches."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import SecretStr

from shared.api.sync_routes import alert_use_case
from shared.config import Settings
from shared.deps import Deps
from shared.domain.connections.provider_keys import ProviderKeyRecord, key_id_for
from shared.domain.enterprise.model import ProviderName, ProviderState, ProviderStatus
from shared.domain.usage.records import Provider
from shared.domain.usage.snapshot import IndexLevel
from shared.services.alerts.evaluate_alerts import EvaluateAlerts
from shared.services.connections.key_health import KeyHealth
from shared.services.sync.sync_coverage import SyncCoverageRecorder
from shared.services.sync.sync_enterprise import SyncEnterprise
from shared.services.sync.sync_report import SyncReport, SyncRequest
from tests.support.connect_world import ENTERPRISE_ID, make_enterprise
from tests.support.fake_alerts import FakeAlertSettings, FakeAlertStore, FakeWebhookSender
from tests.support.fake_connections import FakeAuditLog, FakeProviderConnections
from tests.support.fake_mailer import FakeMailer
from tests.support.fake_secret_store import FakeSecretStore
from tests.support.fake_sync import FakeCoverageStore, FakeLeases, FakePullSources, FakeSnapshotStore
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FakeEnterpriseStore, FixedClock

KEYS = {
    ProviderName.OPENAI: "sk-admin-UNITTEST-sync-openai-000000000000",
    ProviderName.ANTHROPIC: "sk-ant-admin01-UNITTEST-sync-anthropic-00000",
}
NOW = datetime(2026, 11, 23, 2, 5, tzinfo=UTC)
INDEX = IndexLevel(blended=Decimal("9.18"), version="test-index")


@dataclass
class SyncWorld:
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    settings: Settings = field(default_factory=lambda: Settings(project_id="demo-test"))
    enterprises: FakeEnterpriseStore = field(default_factory=FakeEnterpriseStore)
    audit: FakeAuditLog = field(default_factory=FakeAuditLog)
    secrets: FakeSecretStore = field(default_factory=lambda: FakeSecretStore(project_id="demo-test"))
    sources: FakePullSources = field(default_factory=FakePullSources)
    snapshots: FakeSnapshotStore = field(default_factory=FakeSnapshotStore)
    leases: FakeLeases = field(default_factory=FakeLeases)
    coverage: FakeCoverageStore = field(default_factory=FakeCoverageStore)
    tasks: FakeTaskQueue = field(default_factory=FakeTaskQueue)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    alert_settings: FakeAlertSettings = field(default_factory=FakeAlertSettings)
    alerts: FakeAlertStore = field(default_factory=FakeAlertStore)
    webhooks: FakeWebhookSender = field(default_factory=FakeWebhookSender)
    connections: FakeProviderConnections = field(init=False)
    sleep: Callable[[float], None] = field(default=lambda seconds: None)
    """Waits for a busy lease: none in unit tests (a test that wants to see them records them)."""

    def __post_init__(self) -> None:
        self.connections = FakeProviderConnections(self.enterprises, self.audit)
        self.enterprises.create(make_enterprise(self.clock.now()))
        for provider, key in KEYS.items():
            self.connect(provider, key)

    def connect(self, provider: ProviderName, key: str) -> None:
        """Store ``key`` and mark ``provider`` connected, as the connect flow leaves them."""
        ref = self.secrets.add_version(f"provider-key-{provider.value}_{ENTERPRISE_ID}", SecretStr(key), {})
        now = self.clock.now()
        self.connections.records[(ENTERPRISE_ID, provider)] = ProviderKeyRecord(
            secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=now
        )
        enterprise = self.enterprises.docs[ENTERPRISE_ID]
        state = ProviderState(connected=True, status=ProviderStatus.CONNECTED, connected_at=now)
        self.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(
            update={"providers": {**enterprise.providers, provider: state}}
        )
        self.sources.accept(Provider(provider.value), key)

    def use_case(self) -> SyncEnterprise:
        key_health = KeyHealth(
            enterprises=self.enterprises,
            connections=self.connections,
            mailer=self.mailer,
            clock=self.clock,
            settings=self.settings,
        )
        return SyncEnterprise(
            enterprises=self.enterprises,
            connections=self.connections,
            secrets=self.secrets,
            sources=self.sources,
            snapshots=self.snapshots,
            leases=self.leases,
            coverage=SyncCoverageRecorder(
                coverage=self.coverage, mailer=self.mailer, tasks=self.tasks, clock=self.clock, settings=self.settings
            ),
            audit_log=self.audit,
            key_health=key_health,
            tasks=self.tasks,
            clock=self.clock,
            settings=self.settings,
            index=lambda day: INDEX,
            savings=lambda day: {},
            alerts=self.alert_use_case(),
            sleep=self.sleep,
        )

    def alert_use_case(self) -> EvaluateAlerts:
        """The alerts wired as the sync worker wires them (``sync_routes.alert_use_case``), over this world's fakes."""
        deps = Deps(
            self.settings,
            self.clock,
            alerts=self.alerts,
            alert_settings=self.alert_settings,
            mailer=self.mailer,
            webhooks=self.webhooks,
            tasks=self.tasks,
            snapshots=self.snapshots,
        )
        return alert_use_case(deps)

    def run(self, payload: Mapping[str, object], read_id: str = "task-1", *, last_attempt: bool = False) -> SyncReport:
        return self.use_case().run(SyncRequest.model_validate(payload), read_id=read_id, last_attempt=last_attempt)

    def status(self, provider: ProviderName) -> ProviderStatus:
        return self.enterprises.docs[ENTERPRISE_ID].providers[provider].status
