"""The OpenAPI document: complete, valid OpenAPI 3.1, served, and committed up to date."""

from __future__ import annotations

import importlib
import json
from typing import Any

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31

from devstack.tokens import mint_user_token
from shared.bootstrap import ROUTER_MODULES, build_web_app
from shared.web import openapi
from shared.web.http import ApiRequest, Headers
from shared.web.router import Access, Route, Router
from tests.conftest import ROOT, TEST_PROJECT
from tests.support.fakes import FakeEnterpriseStore

COMMITTED = ROOT / "docs" / "openapi.json"
REGENERATE = "python -m shared.web.openapi > docs/openapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.build_document()


def _routers() -> list[Router]:
    """Every deploy unit's router; unlike the document builder, a module that fails to import fails the test."""
    routers = []
    for module in ROUTER_MODULES.values():
        router = importlib.import_module(module).router
        assert isinstance(router, Router)
        routers.append(router)
    return routers


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), p): op for p, item in document["paths"].items() for m, op in item.items()}


def test_the_committed_document_is_up_to_date(document: dict[str, Any]) -> None:
    committed = COMMITTED.read_text() if COMMITTED.exists() else ""
    assert committed == openapi.render(document), f"docs/openapi.json is stale: run `{REGENERATE}`"


def test_every_public_route_of_every_router_is_documented_and_no_internal_one(document: dict[str, Any]) -> None:
    operations = _operations(document)
    public: set[tuple[str, str]] = set()
    for router in _routers():
        for route in router.routes:
            key = (route.method, route.path)
            if route.access.internal:
                assert key not in operations, f"internal route {key} is published"
            else:
                public.add(key)
                assert operations[key]["summary"] == route.summary
    assert set(operations) == public


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    errors = [str(e) for e in jsonschema_rs.validator_for(OPENAPI_31).iter_errors(document)]
    assert errors == []
    assert document["openapi"].startswith("3.1")


def _routes() -> list[Route]:
    return [route for router in _routers() for route in router.routes if not route.access.internal]


def test_security_and_enterprise_header_follow_each_routes_access(document: dict[str, Any]) -> None:
    operations = _operations(document)
    scheme = document["components"]["securitySchemes"][openapi.SECURITY_SCHEME]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for route in _routes():
        operation = operations[(route.method, route.path)]
        refs = {p.get("$ref") for p in operation.get("parameters", [])}
        has_header = f"#/components/parameters/{openapi.ENTERPRISE_PARAMETER}" in refs
        assert has_header is route.access.needs_enterprise, route.path
        assert (operation["security"] == []) is (route.access is Access.PUBLIC), route.path
        if route.access is Access.ADMIN:
            assert "403" in operation["responses"]


def test_query_models_become_query_parameters_and_path_templates_path_parameters(document: dict[str, Any]) -> None:
    operations = _operations(document)
    for route in _routes():
        parameters = operations[(route.method, route.path)].get("parameters", [])
        query = {p["name"] for p in parameters if p.get("in") == "query"}
        assert query == set(route.query.model_fields if route.query else ()), route.path
        path = {p["name"] for p in parameters if p.get("in") == "path"}
        assert path == set(route.path_params), route.path


def test_bodies_and_responses_reference_the_models_and_errors_are_problem_details(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for route in _routes():
        operation = _operations(document)[(route.method, route.path)]
        if route.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in schemas
            assert {"413", "415"} <= set(operation["responses"])
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ProblemDetails"}
        if route.response is not None:
            content = operation["responses"][str(route.status)]["content"]
            assert all(c["schema"]["$ref"].startswith("#/components/schemas/") for c in content.values())


def test_an_actual_problem_response_matches_the_published_schema(document: dict[str, Any]) -> None:
    app = build_web_app("api", enterprises=FakeEnterpriseStore())
    headers = Headers({"Authorization": f"Bearer {mint_user_token('alice@example.com', TEST_PROJECT)}"})
    response = app.handle(ApiRequest("POST", "/api/v1/enterprises", headers, body=b'{"name": ""}'))
    assert response.status == 400
    assert json.loads(response.body)["errors"]
    validator = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/ProblemDetails", "components": document["components"]}
    )
    validator.validate(json.loads(response.body))


def test_the_document_is_served_publicly(document: dict[str, Any]) -> None:
    app = build_web_app("api", enterprises=FakeEnterpriseStore())
    response = app.handle(ApiRequest("GET", "/api/v1/openapi.json"))
    assert response.status == 200
    assert response.content_type == "application/json"
    assert json.loads(response.body) == document


def test_every_link_leads_to_an_operation_of_the_document() -> None:
    from shared.web.openapi import LINKS, build_document

    document = build_document()
    operations = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    for (source, status), links in LINKS.items():
        assert status in operations[source]["responses"], (source, status)
        assert operations[source]["responses"][status]["links"] == links
        for link in links.values():
            assert link["operationId"] in operations, link
