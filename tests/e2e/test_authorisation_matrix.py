"""Every endpoint of the ``api`` and ``reports`` functions × every persona → the expected status (emulator).

The endpoints come from the router itself, so a new endpoint is covered the day it is declared. One that takes a
body needs a valid sample in ``SAMPLE_BODIES``; without one its cases fail and say so.

Personas, all aiming at enterprise A (``X-Enterprise-Id``): ``anonymous``; ``outsider`` (signed in, member of
nothing); ``viewer`` of A; ``other_admin`` (admin of B only); ``admin`` of A. Expected: 401 / 404 / 403 / 404 / 2xx
as the route's access demands. Another enterprise's resources answer 404, exactly like missing ones: never their
data, and nothing changes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.tokens import mint_user_token, uid_for_email
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.bootstrap import build_web_app, load_router
from shared.domain.enterprise.model import Enterprise, Member, Role
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from shared.web.router import Access, Route
from tests.conftest import TEST_PROJECT
from tests.support.fake_task_queue import FakeTaskQueue

PERSONAS = ("anonymous", "outsider", "viewer", "other_admin", "admin")
EMAILS = {
    "outsider": "oscar@example.com",
    "viewer": "victor@acme.example",
    "other_admin": "olga@globex.example",
    "admin": "alice@acme.example",
}
TARGET_MEMBER = "tom@acme.example"
"""A viewer of A whom member routes address (``{uid}``)."""

SAMPLE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/enterprises"): {"name": "Initech", "industry": "technology"},
    ("PATCH", "/api/v1/enterprise"): {"name": "Acme 2", "settings": {"share_anonymous_benchmarks": True}},
    ("POST", "/api/v1/enterprise/members"): {"email": "newcomer@example.com", "role": "viewer"},
    ("PATCH", "/api/v1/enterprise/members/{uid}"): {"role": "admin"},
    ("PUT", "/api/v1/enterprise/budgets"): {
        "budgets": [{"monthly_usd": "1000"}, {"provider": "openai", "monthly_usd": "400", "warning_percent": 50}],
        "webhook_url": "https://hooks.example.com/usage",
    },
}
"""A valid body for every endpoint that takes one."""

SAMPLE_QUERIES: dict[tuple[str, str], dict[str, list[str]]] = {
    ("GET", "/api/v1/enterprise/usage"): {"start": ["2026-10-01"], "end": ["2026-10-31"]},
    ("GET", "/api/v1/enterprise/usage.csv"): {"start": ["2026-10-01"], "end": ["2026-10-31"]},
}
"""Valid query parameters for endpoints that require some."""

PATH_PARAMS = {"uid": uid_for_email(TARGET_MEMBER), "month": "2026-10", "enterprise_id": "ent_acme"}

NO_DATA_YET: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/indices/latest"): "index_not_available",
    ("GET", "/api/v1/benchmarks/current"): "benchmark_not_available",
    ("GET", "/api/v1/benchmarks/{month}"): "benchmark_not_available",
    ("POST", "/api/v1/invites/{enterprise_id}/accept"): "invite_not_found",
    ("POST", "/api/v1/invites/{enterprise_id}/decline"): "invite_not_found",
}
"""Endpoints whose allowed callers may get a 404 on an empty platform, with the handler's own code (not an
authorisation code): proof that the call got past authorisation."""

DENIED: dict[Access, dict[str, tuple[int, str]]] = {
    Access.PUBLIC: {},
    Access.USER: {"anonymous": (401, "missing_token")},
    Access.MEMBER: {
        "anonymous": (401, "missing_token"),
        "outsider": (404, "enterprise_not_found"),
        "other_admin": (404, "enterprise_not_found"),
    },
    Access.ADMIN: {
        "anonymous": (401, "missing_token"),
        "outsider": (404, "enterprise_not_found"),
        "viewer": (403, "admin_required"),
        "other_admin": (404, "enterprise_not_found"),
    },
}

T0 = datetime(2026, 11, 1, tzinfo=UTC)
A, B = "ent_acme", "ent_globex"
SECRETS_OF_A = ("Acme", TARGET_MEMBER, EMAILS["admin"], EMAILS["viewer"])


def _enterprise(eid: str, name: str, roles: dict[str, Role]) -> Enterprise:
    uids = {uid_for_email(email): (email, role) for email, role in roles.items()}
    return Enterprise(
        id=eid,
        name=name,
        created_at=T0,
        updated_at=T0,
        created_by=next(iter(uids)),
        members={uid: Member(email=email, role=role, added_at=T0) for uid, (email, role) in uids.items()},
        member_uids=sorted(uids),
    )


def _seed(store: FirestoreEnterprises) -> None:
    store.create(
        _enterprise(A, "Acme", {EMAILS["admin"]: Role.ADMIN, EMAILS["viewer"]: Role.VIEWER, TARGET_MEMBER: Role.VIEWER})
    )
    store.create(_enterprise(B, "Globex", {EMAILS["other_admin"]: Role.ADMIN}))


def _request(app: WebApp, route: Route, persona: str, enterprise_id: str = A) -> ApiResponse:
    path = route.path
    for name in route.path_params:
        assert name in PATH_PARAMS, f"add a value for path parameter {{{name}}} to PATH_PARAMS"
        path = path.replace(f"{{{name}}}", PATH_PARAMS[name])
    headers = {"X-Enterprise-Id": enterprise_id}
    if persona != "anonymous":
        headers["Authorization"] = f"Bearer {mint_user_token(EMAILS[persona], TEST_PROJECT)}"
    body = b""
    if route.body is not None:
        key = (route.method, route.path)
        assert key in SAMPLE_BODIES, f"{route.method} {route.path} takes a body: add a valid sample to SAMPLE_BODIES"
        body = json.dumps(SAMPLE_BODIES[key]).encode()
        headers["Content-Type"] = "application/json"
    query = SAMPLE_QUERIES.get((route.method, route.path), {})
    return app.handle(ApiRequest(route.method, path, Headers(headers), query, body))


FUNCTIONS = ("api", "reports")
"""Public functions whose every route is checked here (``connect`` has its own matrix in ``test_connect.py``)."""


def _cases() -> list[Any]:
    return [
        pytest.param(function, route, persona, id=f"{route.method} {route.path} as {persona}")
        for function in FUNCTIONS
        for route in load_router(function).routes
        for persona in PERSONAS
    ]


@pytest.mark.parametrize(("function", "route", "persona"), _cases())
def test_endpoint_answers_persona_as_its_access_demands(
    firestore_db: Any, function: str, route: Route, persona: str
) -> None:
    store = FirestoreEnterprises(firestore_db)
    _seed(store)
    before = store.get(A)
    queue = FakeTaskQueue()
    app = build_web_app(function, tasks=queue)

    response = _request(app, route, persona)

    denied = DENIED[route.access].get(persona)
    if denied is None:
        key = (route.method, route.path)
        if response.status == 404 and key in NO_DATA_YET:
            assert json.loads(response.body)["code"] == NO_DATA_YET[key]
        else:
            assert 200 <= response.status < 300, response.body
        return
    assert (response.status, json.loads(response.body)["code"]) == denied
    assert response.content_type == "application/problem+json"
    assert not any(secret in response.body.decode() for secret in SECRETS_OF_A)
    assert store.get(A) == before, "a refused call changed the enterprise"
    assert not firestore_db.document(f"enterprises/{A}/budgets/current").get().exists, "a refused call saved budgets"
    assert queue.calls == 0


def test_every_endpoint_with_a_body_has_a_sample_and_no_sample_is_stale() -> None:
    routes = {(r.method, r.path) for r in load_router("api").routes if r.body is not None}
    assert set(SAMPLE_BODIES) == routes


def test_another_enterprises_members_cannot_be_addressed_from_ones_own(firestore_db: Any) -> None:
    """Object-level: olga, admin of B, selects B and names A's member: 404, and the member is untouched."""
    store = FirestoreEnterprises(firestore_db)
    _seed(store)
    before = store.get(A)
    app = build_web_app("api", tasks=FakeTaskQueue())
    for route in load_router("api").routes:
        if "{uid}" not in route.path:
            continue
        response = _request(app, route, "other_admin", enterprise_id=B)
        assert (response.status, json.loads(response.body)["code"]) == (404, "member_not_found")
    assert store.get(A) == before
