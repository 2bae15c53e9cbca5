"""The ``enterprise_erase`` worker with behaving fakes: what is left of an enterprise after its erasure (nothing), what
is left of its neighbour (everything), and the answers Cloud Tasks acts on (200 done, 503 retry later)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from devstack.tokens import mint_oidc_token, mint_user_token
from shared.bootstrap import build_web_app
from shared.config import get_settings
from shared.domain.connections.secret_naming import secret_id_for, secret_labels
from shared.domain.enterprise.model import Enterprise, Member, ProviderName, Role
from shared.errors import DependencyUnavailable
from shared.services.enterprise.erase_enterprise import ErasureResult, erase_enterprise
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.fake_enterprise_data import FakeEnterpriseData
from tests.support.fake_secret_store import FakeSecretStore
from tests.support.fakes import FakeEnterpriseStore, FixedClock

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SETTLE = timedelta(minutes=10)
GONE, KEPT = "ent_gone0000000000000000", "ent_kept0000000000000000"
SUBCOLLECTIONS = ("usage_snapshots", "usage_months", "raw_responses", "audit_log", "private", "reports", "alerts")


def enterprise(eid: str, *, closing_since: datetime | None) -> Enterprise:
    member = Member(email="ada@example.com", role=Role.ADMIN, added_at=NOW - timedelta(days=400))
    return Enterprise(
        id=eid,
        name=f"Name of {eid}",
        created_at=NOW - timedelta(days=400),
        updated_at=closing_since or NOW - timedelta(days=3),
        created_by="u-ada",
        members={"u-ada": member},
        member_uids=["u-ada"],
        status="closing" if closing_since else "active",
        closing_since=closing_since,
    )


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(NOW)
        self.enterprises = FakeEnterpriseStore()
        self.data = FakeEnterpriseData(self.enterprises)
        self.secrets = FakeSecretStore(TEST_PROJECT)
        for eid, closing in ((GONE, NOW - timedelta(hours=1)), (KEPT, None)):
            self.enterprises.create(enterprise(eid, closing_since=closing))
            for i, name in enumerate(SUBCOLLECTIONS):
                for n in range(i + 1):
                    self.data.put(f"enterprises/{eid}/{name}/doc{n}", {"n": n})
            # Nested below a document that does not exist, as Firestore allows.
            self.data.put(f"enterprises/{eid}/reports/2026-10/pages/1", {"page": 1})
            for provider in (ProviderName.OPENAI, ProviderName.ANTHROPIC):
                for version in ("first", "second"):
                    key = SecretStr(f"sk-{provider.value}-{eid}-{version}")
                    self.secrets.add_version(secret_id_for(eid, provider.value), key, secret_labels(eid, provider))

    def erase(self, eid: str = GONE, *, page_size: int = 3) -> ErasureResult:
        return erase_enterprise(
            eid,
            enterprises=self.enterprises,
            erasures=self.data,
            secrets=self.secrets,
            clock=self.clock,
            page_size=page_size,
            settle=SETTLE,
        )

    def snapshot_of(self, eid: str) -> tuple[Any, ...]:
        secrets = tuple((s, tuple(self.secrets.states_of(s))) for s in self.secrets.secret_ids() if eid in s)
        documents = tuple((p, json.dumps(self.data.documents[p])) for p in self.data.paths_under(eid))
        return self.enterprises.get(eid), documents, secrets


@pytest.fixture
def world() -> World:
    return World()


def test_a_closing_enterprise_is_erased_entirely_and_its_neighbour_is_untouched(world: World) -> None:
    neighbour = world.snapshot_of(KEPT)
    documents = len(world.data.paths_under(GONE))
    result = world.erase()
    assert result == ErasureResult(GONE, "erased", secret_versions_destroyed=4, documents_deleted=documents + 1)
    assert world.enterprises.get(GONE) is None
    assert world.data.paths_under(GONE) == []
    assert [s for s in world.secrets.secret_ids() if GONE in s] == []
    assert world.snapshot_of(KEPT) == neighbour
    tombstone = world.data.record(GONE)
    assert tombstone is not None
    assert (tombstone.requested_at, tombstone.erased_at) == (NOW - timedelta(hours=1), NOW)


def test_erasing_again_is_a_no_op_that_says_so(world: World) -> None:
    world.erase()
    neighbour = world.snapshot_of(KEPT)
    world.clock.advance(timedelta(minutes=5))
    assert world.erase() == ErasureResult(GONE, "already_erased", 0, 0)
    assert world.data.record(GONE).erased_at == NOW  # type: ignore[union-attr]  # the first erasure's time stays
    assert world.snapshot_of(KEPT) == neighbour


def test_an_erasure_that_dies_half_way_is_finished_by_the_retry(world: World) -> None:
    world.data.pages_before_outage = 2
    with pytest.raises(DependencyUnavailable):
        world.erase()
    assert world.data.paths_under(GONE), "the outage struck before everything was deleted"
    assert world.enterprises.get(GONE) is not None, "the enterprise document goes last"
    world.data.pages_before_outage = None
    assert world.data.record(GONE) is None
    assert world.erase().outcome == "erased"
    assert world.data.paths_under(GONE) == []
    assert world.enterprises.get(GONE) is None


def test_secrets_go_first_and_a_secret_store_outage_deletes_nothing_else(world: World) -> None:
    before = world.snapshot_of(GONE)
    world.secrets.unavailable = True
    with pytest.raises(DependencyUnavailable):
        world.erase()
    assert world.snapshot_of(GONE) == before
    world.secrets.unavailable = False
    assert world.erase().secret_versions_destroyed == 4


def test_an_active_enterprise_is_refused_for_a_retry_and_nothing_is_deleted(world: World) -> None:
    before = world.snapshot_of(KEPT)
    with pytest.raises(DependencyUnavailable) as refused:
        world.erase(KEPT)
    assert refused.value.code == "enterprise_still_active"
    assert world.snapshot_of(KEPT) == before


def test_an_enterprise_closed_moments_ago_waits_for_running_requests(world: World) -> None:
    world.clock = FixedClock(NOW - timedelta(hours=1) + SETTLE - timedelta(seconds=1))
    before = world.snapshot_of(GONE)
    with pytest.raises(DependencyUnavailable) as refused:
        world.erase()
    assert refused.value.code == "erasure_settling"
    assert world.snapshot_of(GONE) == before
    world.clock.advance(timedelta(seconds=1))
    assert world.erase().outcome == "erased"


def test_what_a_late_request_wrote_after_the_erasure_is_erased_by_the_next_delivery(world: World) -> None:
    world.erase()
    # A sync that was running wrote a snapshot; a connect that was running stored a key.
    world.data.put(f"enterprises/{GONE}/usage_snapshots/2026-11-22", {"date": "2026-11-22"})
    world.secrets.add_version(secret_id_for(GONE, "openai"), SecretStr("sk-late"), secret_labels(GONE, "openai"))
    result = world.erase()
    assert result == ErasureResult(GONE, "already_erased", secret_versions_destroyed=1, documents_deleted=1)
    assert world.data.paths_under(GONE) == []
    assert [s for s in world.secrets.secret_ids() if GONE in s] == []


def test_an_enterprise_that_never_existed_is_acknowledged(world: World) -> None:
    neighbour = world.snapshot_of(KEPT)
    assert world.erase("ent_unknown") == ErasureResult("ent_unknown", "not_found", 0, 0)
    assert world.data.record("ent_unknown") is None
    assert world.snapshot_of(KEPT) == neighbour


# --- over the function's HTTP contract -------------------------------------------------------------------------


def app_of(world: World) -> WebApp:
    return build_web_app(
        "enterprise_erase",
        enterprises=world.enterprises,
        erasures=world.data,
        secrets=world.secrets,
        clock=world.clock,
    )


def post(app: WebApp, body: Any, *, token: str | None = None) -> ApiResponse:
    settings = get_settings()
    token = token or mint_oidc_token(settings.tasks_service_account, f"{settings.function_base_url}/enterprise_erase")
    headers = Headers({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return app.handle(ApiRequest("POST", "/", headers, body=json.dumps(body).encode()))


def test_the_task_is_answered_200_with_what_was_erased(world: World) -> None:
    response = post(app_of(world), {"enterprise_id": GONE})
    assert response.status == 200
    body = json.loads(response.body)
    assert (body["outcome"], body["secret_versions_destroyed"]) == ("erased", 4)
    assert "Name of" not in response.body.decode()
    repeat = post(app_of(world), {"enterprise_id": GONE})
    assert (repeat.status, json.loads(repeat.body)["outcome"]) == (200, "already_erased")


def test_an_active_enterprise_answers_503_so_cloud_tasks_retries(world: World) -> None:
    response = post(app_of(world), {"enterprise_id": KEPT})
    assert response.status == 503
    assert json.loads(response.body)["code"] == "enterprise_still_active"
    assert response.headers["Retry-After"]


@pytest.mark.parametrize(
    "body", [{}, {"enterprise_id": ""}, {"enterprise_id": "a/b"}, {"enterprise_id": GONE, "extra": 1}]
)
def test_a_malformed_task_is_a_400_and_erases_nothing(world: World, body: dict[str, Any]) -> None:
    before = world.snapshot_of(GONE)
    assert post(app_of(world), body).status == 400
    assert world.snapshot_of(GONE) == before


def test_only_the_tasks_invoker_may_erase(world: World) -> None:
    settings = get_settings()
    audience = f"{settings.function_base_url}/enterprise_erase"
    user = mint_user_token("ada@example.com", project_id=TEST_PROJECT)
    scheduler = mint_oidc_token(settings.scheduler_service_account, audience)
    for token in (user, scheduler):
        assert post(app_of(world), {"enterprise_id": GONE}, token=token).status in (401, 403)
    assert world.enterprises.get(GONE) is not None
