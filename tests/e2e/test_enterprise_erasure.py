"""GDPR erasure end to end: ``DELETE /api/v1/enterprise`` on ``api`` → the Cloud Tasks emulator → front door →
``enterprise_erase`` (``functions/connect``) → nothing left of the enterprise, its neighbour intact.

Both functions run under functions-framework with their settings in the environment, as on the local stack, except
``ERASURE_SETTLE_S=0``: no request can be running against enterprises nobody uses, and the test need not wait the
production delay (its effect is covered by the unit tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from devstack.frontdoor import FrontDoor
from devstack.secret_manager_server import RunningSecretServer, start_server
from devstack.secret_manager_state import SecretManagerError
from devstack.tasks_emulator import start_tasks_emulator
from devstack.tokens import mint_user_token, uid_for_email
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.adapters.firestore_erasure import ERASURES
from shared.adapters.secret_manager import SecretManagerStore
from shared.config import Settings
from shared.domain.connections.secret_naming import secret_id_for, secret_labels
from shared.domain.enterprise.model import Enterprise, Member, ProviderName, Role
from tests.conftest import LOG_DIR, TEST_PROJECT
from tests.support.functions import start_function

REGION = "europe-west1"
ADMIN, NEIGHBOUR_ADMIN = "ada@erase.example", "nel@keep.example"
GONE, KEPT = "ent_e2e_erase_gone", "ent_e2e_erase_kept"


@dataclass
class Platform:
    url: str
    secrets: RunningSecretServer


@pytest.fixture(scope="module")
def platform(firestore_host: str) -> Iterator[Platform]:
    door = FrontDoor("127.0.0.1", 0, {}, health=lambda: {"ok": True})
    door.start()
    secrets = start_server()
    tasks = start_tasks_emulator(
        project=TEST_PROJECT,
        region=REGION,
        queues=[Settings().erase_queue],
        log_path=LOG_DIR / "e2e-erase-tasks-emulator.log",
    )
    env = {
        "PROJECT_ID": TEST_PROJECT,
        "REGION": REGION,
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
        "CLOUD_TASKS_EMULATOR_HOST": tasks.address,
        "SECRET_MANAGER_EMULATOR_HOST": secrets.address,
        "FUNCTION_BASE_URL": door.url,
        "ERASURE_SETTLE_S": "0",
        "PYTHONUNBUFFERED": "1",
    }
    started = []
    try:
        for source, target in (("api", "api"), ("connect", "enterprise_erase")):
            managed, url = start_function(source, target, env, log_dir=LOG_DIR / "e2e-erase")
            started.append(managed)
            door.functions[target] = url
        yield Platform(door.url, secrets)
    finally:
        for managed in started:
            managed.stop()
        tasks.stop()
        secrets.stop()
        door.stop()


def seed(db: Any, secrets: SecretManagerStore, eid: str, admin_email: str) -> None:
    now = datetime.now(UTC)
    admin = uid_for_email(admin_email)
    FirestoreEnterprises(db).create(
        Enterprise(
            id=eid,
            name=f"Name of {eid}",
            created_at=now - timedelta(days=30),
            updated_at=now - timedelta(days=1),
            created_by=admin,
            members={admin: Member(email=admin_email, role=Role.ADMIN, added_at=now - timedelta(days=30))},
            member_uids=[admin],
        )
    )
    ent = db.collection("enterprises").document(eid)
    for n in range(12):
        day = (now - timedelta(days=n + 1)).date().isoformat()
        ent.collection("usage_snapshots").document(day).set({"date": day})
    ent.collection("usage_months").document(now.strftime("%Y-%m")).set({"month": now.strftime("%Y-%m")})
    ent.collection("raw_responses").document("p0").set({"expire_at": now + timedelta(days=7)})
    ent.collection("audit_log").document("a0").set({"action": "connect"})
    ent.collection("private").document("providers").set({"openai": {"secret_version": "v1"}})
    for provider in (ProviderName.OPENAI, ProviderName.ANTHROPIC):
        secret_id = secret_id_for(eid, provider.value)
        secrets.add_version(secret_id, SecretStr(f"sk-{provider.value}-{eid}"), secret_labels(eid, provider.value))


def secret_exists(server: RunningSecretServer, eid: str, provider: ProviderName) -> bool:
    try:
        server.state.get_secret(f"projects/{TEST_PROJECT}/secrets/{secret_id_for(eid, provider.value)}")
    except SecretManagerError:
        return False
    return True


def everything_of(db: Any, eid: str) -> dict[str, Any]:
    ent = db.collection("enterprises").document(eid)
    found = {ent.path: ent.get().to_dict()} if ent.get().exists else {}
    for collection in ent.collections():
        found.update({d.reference.path: d.to_dict() for d in collection.recursive().stream()})
    return found


def api(platform: Platform, method: str, email: str, eid: str) -> httpx.Response:
    token = mint_user_token(email, TEST_PROJECT)
    headers = {"Authorization": f"Bearer {token}", "X-Enterprise-Id": eid}
    return httpx.request(method, f"{platform.url}/api/v1/enterprise", headers=headers, timeout=30)


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the erasure did not finish in time")
        time.sleep(0.25)


def test_an_admins_delete_request_erases_the_enterprise_through_the_task_queue(
    platform: Platform, firestore_db: Any
) -> None:
    store = SecretManagerStore(Settings(project_id=TEST_PROJECT, secret_manager_emulator_host=platform.secrets.address))
    try:
        seed(firestore_db, store, GONE, ADMIN)
        seed(firestore_db, store, KEPT, NEIGHBOUR_ADMIN)
    finally:
        store.close()
    neighbour = everything_of(firestore_db, KEPT)
    assert api(platform, "GET", ADMIN, GONE).status_code == 200

    response = api(platform, "DELETE", ADMIN, GONE)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "closing"}
    assert api(platform, "GET", ADMIN, GONE).status_code == 404, "closed to its members at once"

    wait_for(lambda: not firestore_db.collection("enterprises").document(GONE).get().exists)
    assert everything_of(firestore_db, GONE) == {}
    assert not any(secret_exists(platform.secrets, GONE, p) for p in ProviderName)
    tombstone = firestore_db.collection(ERASURES).document(GONE).get().to_dict()
    assert set(tombstone) == {"requested_at", "erased_at"}
    assert api(platform, "GET", ADMIN, GONE).status_code == 404
    assert api(platform, "DELETE", ADMIN, GONE).status_code == 404

    assert everything_of(firestore_db, KEPT) == neighbour
    assert all(secret_exists(platform.secrets, KEPT, p) for p in (ProviderName.OPENAI, ProviderName.ANTHROPIC))
    assert api(platform, "GET", NEIGHBOUR_ADMIN, KEPT).status_code == 200
