"""Property-based contract test: every operation of the ``api`` function, fed generated inputs, keeps its promises.

Schemathesis reads the document the running function serves at ``/api/v1/openapi.json`` and drives each operation
with inputs generated from it, authenticated as the admin of a seeded enterprise. Each response must not be a
server error and must match the status codes, content type and body schema the document declares.

Left out on purpose:

* ``/api/v1/enterprise/connect/*`` is served by the ``connect`` function (``infra/routes.json``) and needs the
  provider simulator and Secret Manager; its contract is covered by ``test_connect.py``.

The destructive operations (``DELETE /api/v1/enterprise``, ``DELETE /api/v1/enterprise/members/{uid}``) run too, each
case on a throwaway enterprise of its own, against a second ``api`` instance whose erase tasks go to the session's
Cloud Tasks emulator (and from there to the task recorder, not to a real erasure).

Generation is derandomised and bounded, so CI sees the same cases every run and the file stays well under a minute.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.tasks_emulator import RunningTasksEmulator
from shared.config import Settings
from tests.conftest import LOG_DIR, ROOT, TEST_PROJECT
from tests.support.e2e_connect import bearer, make_tenant
from tests.support.functions import start_function
from tests.support.task_recorder import TaskRecorder

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DESTRUCTIVE = {("DELETE", "/api/v1/enterprise"), ("DELETE", "/api/v1/enterprise/members/{uid}")}


def _operations(document: Path) -> list[tuple[str, str]]:
    """The (method, path) pairs under test, read from the committed copy of the document (equal to the served one)."""
    paths: dict[str, dict[str, Any]] = json.loads(document.read_text())["paths"]
    pairs = [(method.upper(), path) for path, item in paths.items() for method in item]
    return [(method, path) for method, path in pairs if not path.startswith("/api/v1/enterprise/connect")]


MAX_EXAMPLES = 15
DESTRUCTIVE_EXAMPLES = 5
STATEFUL_EXAMPLES = 8
"""Each destructive case creates its own enterprise: fewer cases, for time (they have few inputs to vary anyway)."""


def _target(
    method: str, path: str, tenant_headers: dict[str, str], api_url: str, request: Any
) -> tuple[str, Callable[[], dict[str, str]]]:
    """Where to send the cases of an operation, and the headers of each case (a throwaway tenant if destructive)."""
    if (method, path) not in DESTRUCTIVE:
        return api_url, lambda: tenant_headers
    url = request.getfixturevalue("destructive_api_url")
    throwaway = Throwaway(url, request.getfixturevalue("firestore_db_client"), f"{method} {path}")
    return url, throwaway.headers


OPERATIONS = _operations(ROOT / "docs" / "openapi.json")


@pytest.fixture(scope="module")
def tenant_headers(api_url: str, firestore_host: str) -> dict[str, str]:
    """The seeded enterprise's admin: a bearer token and the enterprise it selects."""
    from google.cloud import firestore

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FIRESTORE_EMULATOR_HOST", firestore_host)
        db = firestore.Client(project=TEST_PROJECT)
        tenant = make_tenant("schemathesis", api_url, db)
        db.close()
    return {**bearer(tenant.admin), "X-Enterprise-Id": tenant.enterprise_id}


@pytest.fixture(scope="module")
def firestore_db_client(firestore_host: str) -> Iterator[Any]:
    from google.cloud import firestore

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FIRESTORE_EMULATOR_HOST", firestore_host)
        db = firestore.Client(project=TEST_PROJECT)
    yield db
    db.close()


@pytest.fixture(scope="module")
def destructive_api_url(
    firestore_host: str, tasks_emulator: RunningTasksEmulator, task_recorder: TaskRecorder
) -> Iterator[str]:
    """An ``api`` instance that can schedule erasures: its erase queue is the session emulator's (only) queue."""
    env = {
        "PROJECT_ID": TEST_PROJECT,
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
        "CLOUD_TASKS_EMULATOR_HOST": tasks_emulator.address,
        "ERASE_QUEUE": Settings().sync_queue,
        "FUNCTION_BASE_URL": task_recorder.base_url,
        "QUOTA_ENTERPRISES_PER_USER_PER_DAY": "10000",  # the stateful test creates many, as one user
        "PYTHONUNBUFFERED": "1",
    }
    managed, url = start_function("api", "api", env, log_dir=LOG_DIR / "schemathesis-destructive")
    try:
        yield url
    finally:
        managed.stop()


class Throwaway:
    """A new enterprise per case, so a destructive case never changes what the other cases see."""

    def __init__(self, api_url: str, db: Any, operation: str) -> None:
        self._api_url, self._db, self._operation, self._count = api_url, db, operation, 0

    def headers(self) -> dict[str, str]:
        self._count += 1
        tenant = make_tenant(f"throwaway {self._operation} {self._count}", self._api_url, self._db)
        return {**bearer(tenant.admin), "X-Enterprise-Id": tenant.enterprise_id}


@pytest.fixture(scope="module")
def served_schema(api_url: str) -> Any:
    """The document the running function serves, the one clients read."""
    return schemathesis.openapi.from_url(f"{api_url}/api/v1/openapi.json")


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_honours_its_contract(
    method: str, path: str, served_schema: Any, tenant_headers: dict[str, str], api_url: str, request: Any
) -> None:
    operation = served_schema[path][method]
    url, headers = _target(method, path, tenant_headers, api_url, request)

    @given(case=operation.as_strategy())
    @settings(
        max_examples=DESTRUCTIVE_EXAMPLES if (method, path) in DESTRUCTIVE else MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=url, headers=headers(), checks=CHECKS)

    run()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_invalid_input_is_never_a_server_error(
    method: str, path: str, served_schema: Any, tenant_headers: dict[str, str], api_url: str, request: Any
) -> None:
    """Inputs that break the document (wrong types, missing fields, bad formats) are refused, never a 5xx."""
    operation = served_schema[path][method]
    url, headers = _target(method, path, tenant_headers, api_url, request)
    if not operation.query and not operation.body and not operation.path_parameters:
        pytest.skip("nothing to make invalid")

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(
        max_examples=DESTRUCTIVE_EXAMPLES if (method, path) in DESTRUCTIVE else MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=url, headers=headers(), checks=[not_a_server_error])

    run()


def test_linked_sequences_never_answer_5xx(destructive_api_url: str) -> None:
    """Stateful: create an enterprise, then read, invite into and erase *that* enterprise, and change or withdraw
    *that* invite, following the document's links, on the instance that can schedule erasures."""
    schema = schemathesis.openapi.from_url(f"{destructive_api_url}/api/v1/openapi.json")
    user = bearer("stateful-admin@example.com")
    machine = schema.as_state_machine()

    class Linked(machine):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": destructive_api_url, "headers": {**user, **(case.headers or {})}}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    Linked.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=4,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
