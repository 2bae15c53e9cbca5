"""The OpenAPI 3.1 document of the public REST API, built from the route declarations of every public router.

Nothing is written by hand: paths, parameters, bodies and responses come from the ``Route`` objects and their
pydantic models, so the document cannot drift from the code. Internal routes (Cloud Scheduler, Cloud Tasks) are left
out. A committed copy lives in ``docs/openapi.json``; a test fails when it is stale. Regenerate it with::

    python -m shared.web.openapi > docs/openapi.json
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.web.problems import PROBLEM_JSON, ProblemDetails
from shared.web.router import Access, Route, Router

log = logging.getLogger(__name__)

OPENAPI_VERSION = "3.1.0"
API_TITLE = "Enterprise LLM usage tracking API"
API_VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "firebaseIdToken"
ENTERPRISE_PARAMETER = "EnterpriseId"

_SAME_ENTERPRISE = {"header.X-Enterprise-Id": "$request.header.X-Enterprise-Id"}
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("create_enterprise", "201"): {
        name: {"operationId": op, "parameters": {"header.X-Enterprise-Id": "$response.body#/id"}}
        for name, op in (("ReadIt", "get_enterprise"), ("InviteToIt", "add_member"), ("EraseIt", "delete_enterprise"))
    },
    ("add_member", "201"): {
        name: {"operationId": op, "parameters": {"path.uid": "$response.body#/id", **_SAME_ENTERPRISE}}
        for name, op in (("ChangeTheRole", "patch_member"), ("WithdrawTheInvite", "delete_member"))
    },
}
"""OpenAPI links: how one operation's response feeds the next (stateful tests follow them; so can clients)."""

_DESCRIPTION = (
    "What enterprises really pay per 1M LLM tokens. Authenticate with a Firebase ID token "
    "(`Authorization: Bearer ...`). Member and admin routes act on the selected enterprise: the one named by "
    "`X-Enterprise-Id`, or the caller's only one. An enterprise the caller does not belong to answers 404, exactly "
    "like one that does not exist. Every error is an RFC 9457 problem details document (`application/problem+json`) "
    "with a stable `code`."
)

ModelUse = tuple[type[BaseModel], Literal["validation", "serialization"]]


def public_routers() -> list[Router]:
    """The router of every deploy unit in ``shared.bootstrap.ROUTER_MODULES`` whose module exists."""
    from shared.bootstrap import ROUTER_MODULES

    routers = []
    for function, module_name in ROUTER_MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:
                raise
            log.warning("routes of %s are not available", function, extra={"module": module_name})
            continue
        routers.append(module.router)
    return routers


def public_routes(routers: Iterable[Router]) -> list[tuple[Router, Route]]:
    return [(router, route) for router in routers for route in router.routes if not route.access.internal]


def build_document(routers: Sequence[Router] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routers`` (default: every public router)."""
    routes = public_routes(public_routers() if routers is None else routers)
    uses = _model_uses(route for _, route in routes)
    refs, definitions = models_json_schema(uses, ref_template=REF)
    schemas: dict[str, Any] = definitions.get("$defs", {})
    names = Counter(route.handler.__name__ for _, route in routes)
    paths: dict[str, dict[str, Any]] = {}
    for router, route in routes:
        operation_id = route.handler.__name__
        if names[operation_id] > 1:
            operation_id = f"{router.function}_{operation_id}"
        item = paths.setdefault(route.path, {})
        method = route.method.lower()
        if method in item:
            raise ValueError(f"{route.method} {route.path} is served by two routers")
        item[method] = _operation(route, operation_id, refs, schemas)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": API_TITLE, "version": API_VERSION, "description": _DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "tags": [{"name": tag} for tag in sorted({t for _, r in routes for t in r.tags})],
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Firebase Authentication ID token of the signed-in user.",
                }
            },
            "parameters": {
                ENTERPRISE_PARAMETER: {
                    "name": "X-Enterprise-Id",
                    "in": "header",
                    "required": False,
                    "description": "The enterprise to act on; required when the caller belongs to several.",
                    "schema": {"type": "string"},
                }
            },
        },
    }


def _model_uses(routes: Iterable[Route]) -> list[ModelUse]:
    uses: list[ModelUse] = [(ProblemDetails, "serialization")]
    for route in routes:
        for model, mode in ((route.body, "validation"), (route.query, "validation"), (route.response, "serialization")):
            if model is not None and (model, mode) not in uses:
                uses.append((model, mode))  # type: ignore[arg-type]
    return uses


def _operation(
    route: Route, operation_id: str, refs: dict[Any, dict[str, Any]], schemas: dict[str, Any]
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": route.summary, "tags": list(route.tags)}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in route.path_params
    ]
    if route.query is not None:
        parameters += _query_parameters(refs[(route.query, "validation")], schemas)
    if route.access.needs_enterprise:
        parameters.append({"$ref": f"#/components/parameters/{ENTERPRISE_PARAMETER}"})
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    operation["responses"] = _responses(route, refs)
    operation["security"] = [] if route.access is Access.PUBLIC else [{SECURITY_SCHEME: []}]
    return operation


def _query_parameters(ref: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """One parameter per field of the query model (its schema is inlined: parameters cannot be objects)."""
    model_schema = schemas[ref["$ref"].rsplit("/", 1)[1]]
    required = set(model_schema.get("required", ()))
    parameters = []
    for name, schema in model_schema.get("properties", {}).items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": schema}
        if "description" in schema:
            parameter["description"] = schema["description"]
        parameters.append(parameter)
    return parameters


def _responses(route: Route, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(route.status).phrase}
    if route.status != 204:
        schema = refs[(route.response, "serialization")] if route.response else {}
        success["content"] = {content_type: {"schema": schema} for content_type in route.content_types}
    problem = {PROBLEM_JSON: {"schema": refs[(ProblemDetails, "serialization")]}}
    links = LINKS.get((route.handler.__name__, str(route.status)))
    if links:
        success["links"] = links
    responses: dict[str, Any] = {str(route.status): success}
    for status in route.also_ok:
        responses[str(status)] = {k: v for k, v in success.items() if k != "links"} | {
            "description": HTTPStatus(status).phrase
        }
    for status in sorted(implied_errors(route)):
        responses[str(status)] = {"description": HTTPStatus(status).phrase, "content": problem}
    return responses


def implied_errors(route: Route) -> set[int]:
    """The error statuses a route can answer: its declared ones plus those the web layer adds."""
    errors = set(route.errors) | {400, 500}  # 400: unknown query parameters are refused everywhere
    if route.access is not Access.PUBLIC:
        errors |= {401, 503}
    if route.access.needs_enterprise:
        errors.add(404)
    if route.access is Access.ADMIN:
        errors.add(403)
    if route.body is not None:
        errors |= {413, 415}
    return errors


@functools.cache
def document_bytes() -> bytes:
    """The document as served: built once per instance (it only changes with the code)."""
    return render(build_document()).encode()


def render(document: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, final newline (the committed copy is compared byte for byte)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(render(build_document()))


if __name__ == "__main__":
    main()
