"""Property-based contract test: every operation of the ``api`` function, fed generated inputs, keeps its promises.

Schemathesis reads the document the running function serves at ``/api/v1/openapi.json`` and drives each operation
with inputs generated from it, authenticated as the admin of a seeded enterprise. Each response must not be a
server error and must match the status codes, content type and body schema the document declares.

Left out on purpose:

* ``/api/v1/enterprise/connect/*`` is served by the ``connect`` function (``infra/routes.json``) and needs the
  provider simulator and Secret Manager; its contract is covered by ``test_connect.py``.
* ``DELETE /api/v1/enterprise`` and ``DELETE /api/v1/enterprise/members/{uid}`` would delete the enterprise or its
  members and turn every later case into a 404; ``test_authorisation_matrix.py`` covers them.

Generation is derandomised and bounded, so CI sees the same cases every run and the file stays well under a minute.
"""

from __future__ import annotations

import json
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

from tests.conftest import ROOT, TEST_PROJECT
from tests.support.e2e_connect import bearer, make_tenant

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SKIPPED = {("DELETE", "/api/v1/enterprise"), ("DELETE", "/api/v1/enterprise/members/{uid}")}


def _operations(document: Path) -> list[tuple[str, str]]:
    """The (method, path) pairs under test, read from the committed copy of the document (equal to the served one)."""
    paths: dict[str, dict[str, Any]] = json.loads(document.read_text())["paths"]
    pairs = [(method.upper(), path) for path, item in paths.items() for method in item]
    return [
        (method, path)
        for method, path in pairs
        if not path.startswith("/api/v1/enterprise/connect") and (method, path) not in SKIPPED
    ]


MAX_EXAMPLES = 15
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
def served_schema(api_url: str) -> Any:
    """The document the running function serves, the one clients read."""
    return schemathesis.openapi.from_url(f"{api_url}/api/v1/openapi.json")


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_honours_its_contract(
    method: str, path: str, served_schema: Any, tenant_headers: dict[str, str], api_url: str
) -> None:
    operation = served_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=api_url, headers=tenant_headers, checks=CHECKS)

    run()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_invalid_input_is_never_a_server_error(
    method: str, path: str, served_schema: Any, tenant_headers: dict[str, str], api_url: str
) -> None:
    """Inputs that break the document (wrong types, missing fields, bad formats) are refused, never a 5xx."""
    operation = served_schema[path][method]
    if not operation.query and not operation.body and not operation.path_parameters:
        pytest.skip("nothing to make invalid")

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=api_url, headers=tenant_headers, checks=[not_a_server_error])

    run()
