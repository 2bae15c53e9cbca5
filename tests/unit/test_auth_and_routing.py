"""Authentication and object-level authorisation of the API, with behaving fakes of our own ports.

The verifiers are the real firebase-admin / google-auth based ones: tokens are minted the way the Firebase Auth
emulator and the local stack mint them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devstack.tokens import mint_oidc_token, mint_user_token, unsigned_jwt
from shared.bootstrap import build_web_app
from shared.config import get_settings
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from shared.web.router import Access, Router
from tests.conftest import TEST_PROJECT
from tests.support.fake_quotas import FakeQuotaCounter
from tests.support.fake_sync import FakeCoverageStore
from tests.support.fakes import FakeEnterpriseStore


def call(
    app: WebApp, method: str, path: str, token: str | None = None, body: Any = None, **headers: str
) -> ApiResponse:
    hdrs = dict(headers)
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    raw = json.dumps(body).encode() if body is not None else b""
    query: dict[str, list[str]] = {}
    if "?" in path:
        path, _, qs = path.partition("?")
        for pair in qs.split("&"):
            k, _, v = pair.partition("=")
            query.setdefault(k, []).append(v)
    return app.handle(ApiRequest(method, path, Headers(hdrs), query, raw))


def body_of(response: ApiResponse) -> Any:
    return json.loads(response.body)


@pytest.fixture
def store() -> FakeEnterpriseStore:
    return FakeEnterpriseStore()


@pytest.fixture
def app(store: FakeEnterpriseStore) -> WebApp:
    return build_web_app("api", enterprises=store, quotas=FakeQuotaCounter(), coverage=FakeCoverageStore())


def alice() -> str:
    return mint_user_token("alice@example.com", TEST_PROJECT)


def test_signed_in_user_creates_an_enterprise_and_reads_it_back(app: WebApp) -> None:
    created = call(app, "POST", "/api/v1/enterprises", alice(), {"name": "Acme", "industry": "finance"})
    assert created.status == 201
    doc = body_of(created)
    assert doc["name"] == "Acme"
    assert doc["your_role"] == "admin"
    assert [m["email"] for m in doc["members"]] == ["alice@example.com"]

    fetched = call(app, "GET", "/api/v1/enterprise", alice())
    assert fetched.status == 200
    assert body_of(fetched)["id"] == doc["id"]


def test_retried_create_with_same_idempotency_key_returns_the_same_enterprise(
    app: WebApp, store: FakeEnterpriseStore
) -> None:
    first = call(app, "POST", "/api/v1/enterprises", alice(), {"name": "Acme"}, **{"Idempotency-Key": "k1"})
    again = call(app, "POST", "/api/v1/enterprises", alice(), {"name": "Acme"}, **{"Idempotency-Key": "k1"})
    assert (first.status, again.status) == (201, 200)
    assert body_of(first)["id"] == body_of(again)["id"]
    assert len(store.docs) == 1


@pytest.mark.parametrize(
    ("token_factory", "code"),
    [
        (lambda: None, "missing_token"),
        (lambda: mint_user_token("alice@example.com", TEST_PROJECT, now=time.time() - 7200), "token_expired"),
        (lambda: mint_user_token("alice@example.com", "another-project"), "invalid_token"),
        (lambda: "not-a-jwt", "invalid_token"),
        (lambda: unsigned_jwt({"sub": "x", "aud": TEST_PROJECT}), "invalid_token"),
    ],
    ids=["no-token", "expired", "other-project", "malformed", "wrong-issuer"],
)
def test_bad_tokens_get_401_with_a_json_problem(app: WebApp, token_factory: Any, code: str) -> None:
    response = call(app, "GET", "/api/v1/enterprise", token_factory())
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    problem = body_of(response)
    assert problem["status"] == 401
    assert problem["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_local_mode_tokens_are_refused_when_local_mode_is_off(
    monkeypatch: pytest.MonkeyPatch, store: FakeEnterpriseStore
) -> None:
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    get_settings.cache_clear()
    assert not get_settings().local_mode
    app = build_web_app("api", enterprises=store, quotas=FakeQuotaCounter(), coverage=FakeCoverageStore())
    response = call(app, "POST", "/api/v1/enterprises", alice(), {"name": "Acme"})
    assert response.status == 401
    assert body_of(response)["code"] == "invalid_token"
    assert store.docs == {}


def test_local_mode_refuses_to_start_on_google_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K_SERVICE", "api")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="local mode"):
        get_settings()


def test_non_member_gets_404_and_viewer_cannot_use_admin_routes(app: WebApp, store: FakeEnterpriseStore) -> None:
    call(app, "POST", "/api/v1/enterprises", alice(), {"name": "Acme"})
    bob = mint_user_token("bob@example.com", TEST_PROJECT)
    response = call(app, "GET", "/api/v1/enterprise", bob)
    assert response.status == 404
    assert body_of(response)["code"] == "enterprise_not_found"
    assert "Acme" not in response.body.decode()


def test_x_enterprise_id_selects_among_several_and_foreign_ids_look_missing(app: WebApp) -> None:
    a = body_of(call(app, "POST", "/api/v1/enterprises", alice(), {"name": "A"}))["id"]
    b = body_of(call(app, "POST", "/api/v1/enterprises", alice(), {"name": "B"}))["id"]
    ambiguous = call(app, "GET", "/api/v1/enterprise", alice())
    assert ambiguous.status == 400
    assert body_of(ambiguous)["code"] == "enterprise_selection_required"
    assert body_of(call(app, "GET", "/api/v1/enterprise", alice(), **{"X-Enterprise-Id": b}))["name"] == "B"
    carol = mint_user_token("carol@example.com", TEST_PROJECT)
    foreign = call(app, "GET", "/api/v1/enterprise", carol, **{"X-Enterprise-Id": a})
    assert foreign.status == 404


def test_validation_errors_name_the_field_and_unknown_fields_are_refused(app: WebApp) -> None:
    response = call(app, "POST", "/api/v1/enterprises", alice(), {"name": "", "colour": "red"})
    assert response.status == 400
    fields = {e["field"] for e in body_of(response)["errors"]}
    assert fields == {"body.name", "body.colour"}


def test_unknown_query_parameters_and_unknown_paths(app: WebApp) -> None:
    call(app, "POST", "/api/v1/enterprises", alice(), {"name": "Acme"})
    assert body_of(call(app, "GET", "/api/v1/enterprise?debug=1", alice()))["code"] == "unknown_query_parameter"
    assert call(app, "GET", "/api/v1/nothing-here", alice()).status == 404
    wrong_method = call(app, "DELETE", "/api/v1/enterprises", alice())
    assert wrong_method.status == 405
    assert wrong_method.headers["Allow"] == "POST"


def test_malformed_json_body_is_a_400(app: WebApp) -> None:
    response = app.handle(
        ApiRequest("POST", "/api/v1/enterprises", Headers({"Authorization": f"Bearer {alice()}"}), {}, b"{nope")
    )
    assert response.status == 400
    assert body_of(response)["code"] == "malformed_json"


def test_cors_allows_only_configured_origins(monkeypatch: pytest.MonkeyPatch, store: FakeEnterpriseStore) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://app.example.com")
    get_settings.cache_clear()
    app = build_web_app("api", enterprises=store, quotas=FakeQuotaCounter(), coverage=FakeCoverageStore())
    preflight = call(
        app,
        "OPTIONS",
        "/api/v1/enterprises",
        Origin="https://app.example.com",
        **{"Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    evil = call(app, "OPTIONS", "/api/v1/enterprises", Origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in evil.headers
    assert (
        "Access-Control-Allow-Origin"
        not in call(app, "GET", "/api/v1/enterprise", Origin="https://evil.example").headers
    )


def _internal_app() -> WebApp:
    router = Router("sync_worker")

    @router.route("POST", "/", access=Access.TASKS, summary="test task")
    def work(ctx: Any) -> dict[str, str]:
        return {"caller": ctx.caller.email}

    return build_web_app("sync_worker", router=router, enterprises=FakeEnterpriseStore())


def test_internal_routes_accept_only_the_expected_service_account_and_audience() -> None:
    settings = get_settings()
    app = _internal_app()
    audience = f"{settings.function_base_url}/sync_worker"
    ok = call(app, "POST", "/", mint_oidc_token(settings.tasks_service_account, audience), body={})
    assert ok.status == 200
    assert body_of(ok)["caller"] == settings.tasks_service_account
    wrong_sa = call(app, "POST", "/", mint_oidc_token(settings.scheduler_service_account, audience), body={})
    assert body_of(wrong_sa)["code"] == "caller_not_allowed"
    wrong_aud = call(app, "POST", "/", mint_oidc_token(settings.tasks_service_account, "https://x/api"), body={})
    assert wrong_aud.status == 401
    user_token = call(app, "POST", "/", alice(), body={})
    assert user_token.status == 401
    expired = mint_oidc_token(settings.tasks_service_account, audience, now=time.time() - 7200)
    assert body_of(call(app, "POST", "/", expired, body={}))["code"] == "token_expired"


def test_each_task_function_accepts_only_its_own_invoker(monkeypatch: pytest.MonkeyPatch) -> None:
    """One identity for every queue let a token minted for erase tasks call the sync worker (and the reverse)."""
    invokers = {
        "sync_worker": "invoker-sync-worker@demo-test.iam.gserviceaccount.com",
        "enterprise_erase": "invoker-enterprise-erase@demo-test.iam.gserviceaccount.com",
    }
    monkeypatch.setenv("TASK_INVOKERS", json.dumps(invokers))
    get_settings.cache_clear()
    settings = get_settings()
    app = _internal_app()
    audience = f"{settings.function_base_url}/sync_worker"

    own = call(app, "POST", "/", mint_oidc_token(invokers["sync_worker"], audience), body={})
    erase_invoker = call(app, "POST", "/", mint_oidc_token(invokers["enterprise_erase"], audience), body={})
    shared_invoker = call(app, "POST", "/", mint_oidc_token(settings.tasks_service_account, audience), body={})

    assert own.status == 200
    assert body_of(erase_invoker)["code"] == body_of(shared_invoker)["code"] == "caller_not_allowed"
