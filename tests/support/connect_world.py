"""One enterprise (an admin, a viewer) and behaving fakes of every port the connect use cases touch.

Unit tests of ``connect_provider``, ``disconnect_provider``, ``key_health`` and the connect routes build a
``ConnectWorld`` and assert on what the fakes hold afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from devstack.tokens import uid_for_email
from shared.config import Settings
from shared.domain.enterprise.audit import Actor
from shared.domain.enterprise.model import Enterprise, Member, ProviderName, Role
from shared.domain.usage.records import OrgIdentity, Provider
from shared.services.connections.connect_provider import ConnectProvider, ConnectResult
from shared.services.connections.disconnect_provider import DisconnectResult, disconnect_provider
from shared.services.connections.key_health import KeyHealth
from tests.support.fake_connections import FakeAuditLog, FakeProviderConnections
from tests.support.fake_mailer import FakeMailer
from tests.support.fake_secret_store import FakeSecretStore
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fake_usage_sources import FakeUsageSources
from tests.support.fakes import FakeEnterpriseStore, FixedClock

ENTERPRISE_ID = "ent_0123456789abcdef0123"
ADMIN_EMAIL = "ada@example.com"
VIEWER_EMAIL = "vic@example.com"
ADMIN = Actor.user(uid_for_email(ADMIN_EMAIL), ADMIN_EMAIL)

OPENAI_KEY = "sk-admin-UNITTEST-openai-first-0000000000"
OPENAI_KEY_2 = "sk-admin-UNITTEST-openai-second-111111111"
ANTHROPIC_KEY = "sk-ant-admin01-UNITTEST-anthropic-first-000000"
ANTHROPIC_KEY_2 = "sk-ant-admin01-UNITTEST-anthropic-second-1111"
OPENAI_ORG = OrgIdentity(provider=Provider.OPENAI, org_id=None, org_name=None, permissions=("usage.read",))
ANTHROPIC_ORG = OrgIdentity(
    provider=Provider.ANTHROPIC, org_id="4f1e0c1a-org-acme", org_name="Acme Corp", permissions=("admin",)
)


def make_enterprise(now: datetime) -> Enterprise:
    admin, viewer = uid_for_email(ADMIN_EMAIL), uid_for_email(VIEWER_EMAIL)
    return Enterprise(
        id=ENTERPRISE_ID,
        name="Acme",
        created_at=now,
        updated_at=now,
        created_by=admin,
        members={
            admin: Member(email=ADMIN_EMAIL, role=Role.ADMIN, added_at=now),
            viewer: Member(email=VIEWER_EMAIL, role=Role.VIEWER, added_at=now),
        },
        member_uids=[admin, viewer],
    )


@dataclass
class ConnectWorld:
    clock: FixedClock = field(default_factory=lambda: FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)))
    settings: Settings = field(default_factory=lambda: Settings(project_id="demo-test"))
    enterprises: FakeEnterpriseStore = field(default_factory=FakeEnterpriseStore)
    audit: FakeAuditLog = field(default_factory=FakeAuditLog)
    secrets: FakeSecretStore = field(default_factory=lambda: FakeSecretStore(project_id="demo-test"))
    sources: FakeUsageSources = field(default_factory=FakeUsageSources)
    tasks: FakeTaskQueue = field(default_factory=FakeTaskQueue)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    connections: FakeProviderConnections = field(init=False)

    def __post_init__(self) -> None:
        self.connections = FakeProviderConnections(self.enterprises, self.audit)
        self.enterprises.create(make_enterprise(self.clock.now()))
        for key in (OPENAI_KEY, OPENAI_KEY_2):
            self.sources.admit(key, OPENAI_ORG)
        for key in (ANTHROPIC_KEY, ANTHROPIC_KEY_2):
            self.sources.admit(key, ANTHROPIC_ORG)

    def connector(self) -> ConnectProvider:
        return ConnectProvider(
            enterprises=self.enterprises,
            connections=self.connections,
            secrets=self.secrets,
            sources=self.sources,
            tasks=self.tasks,
            audit_log=self.audit,
            clock=self.clock,
            settings=self.settings,
        )

    def connect(self, provider: ProviderName, key: str, *, org_id: str | None = None) -> ConnectResult:
        from pydantic import SecretStr

        return self.connector().connect(ENTERPRISE_ID, provider, SecretStr(key), ADMIN, declared_org_id=org_id)

    def disconnect(self, provider: ProviderName) -> DisconnectResult:
        return disconnect_provider(
            enterprises=self.enterprises,
            connections=self.connections,
            secrets=self.secrets,
            clock=self.clock,
            enterprise_id=ENTERPRISE_ID,
            provider=provider,
            actor=ADMIN,
        )

    def key_health(self) -> KeyHealth:
        return KeyHealth(
            enterprises=self.enterprises,
            connections=self.connections,
            mailer=self.mailer,
            clock=self.clock,
            settings=self.settings,
        )

    def enterprise(self) -> Enterprise:
        found = self.enterprises.get(ENTERPRISE_ID)
        assert found is not None
        return found
