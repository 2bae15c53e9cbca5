"""Bad input is a 4xx problem detail, never a 5xx: the inputs an abuser (or an unlucky client) sends, through the
``api`` and ``reports`` applications on the Firestore emulator with the real adapters."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.tokens import mint_user_token, uid_for_email
from shared.adapters.firestore_enterprises import FirestoreEnterprises
from shared.bootstrap import build_web_app
from shared.domain.enterprise.model import Enterprise, Member, Role
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT

EID, ADMIN = "ent_acme", "alice@acme.example"


@pytest.fixture
def enterprise(firestore_db: Any) -> str:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    uid = uid_for_email(ADMIN)
    FirestoreEnterprises(firestore_db).create(
        Enterprise(
            id=EID,
            name="Acme",
            created_at=t0,
            updated_at=t0,
            created_by=uid,
            members={uid: Member(email=ADMIN, role=Role.ADMIN, added_at=t0)},
            member_uids=[uid],
        )
    )
    return EID


def call(app: WebApp, method: str, path: str, query: dict[str, str] | None = None, body: bytes = b"") -> ApiResponse:
    headers = {"Authorization": f"Bearer {mint_user_token(ADMIN, TEST_PROJECT)}", "X-Enterprise-Id": EID}
    if body:
        headers["Content-Type"] = "application/json"
    request = ApiRequest(method, path, Headers(headers), {k: [v] for k, v in (query or {}).items()}, body)
    return app.handle(request)


def assert_problem(response: ApiResponse, status: int = 400) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.content_type == "application/problem+json"
    problem: dict[str, Any] = json.loads(response.body)
    assert problem["status"] == status
    return problem


def _token(at: str, entry_id: str) -> str:
    raw = json.dumps({"at": at, "id": entry_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        {"start": "9999-12-31", "end": "9999-12-31"},
        {"start": "9998-12-01", "end": "9999-12-31"},
        {"start": "0001-01-01", "end": "0001-01-02"},
    ],
)
def test_dates_at_the_edges_of_the_calendar_are_400(enterprise: str, query: dict[str, str]) -> None:
    app = build_web_app("api")
    assert_problem(call(app, "GET", "/api/v1/enterprise/usage", query))
    assert_problem(call(app, "GET", "/api/v1/enterprise/usage.csv", query))


@pytest.mark.parametrize("path", ["/api/v1/enterprise/audit-log", "/api/v1/enterprise/alerts"])
@pytest.mark.parametrize(
    "token",
    [
        _token("2026-01-01T00:00:00+00:00", "a/b"),
        _token("2026-01-01T00:00:00+00:00", "x/../../other"),
        _token("2026-01-01T00:00:00+00:00", "__x__"),
        _token("2026-01-01T00:00:00+00:00", ".."),
        _token("2026-01-01T00:00:00+00:00", "a" * 2000),
    ],
)
def test_page_tokens_that_name_no_document_are_400(enterprise: str, path: str, token: str) -> None:
    problem = assert_problem(call(build_web_app("api"), "GET", path, {"page_token": token}))
    assert problem["code"] in {"invalid_page_token", "validation_failed"}


@pytest.mark.parametrize("month", ["２０２５-１０", "٢٠٢٥-١٠", "2025-１0", "9999-12", "0000-01"])
def test_report_months_in_other_digits_are_400(enterprise: str, month: str) -> None:
    app = build_web_app("reports")
    assert_problem(call(app, "GET", f"/api/v1/enterprise/reports/{month}"))


@pytest.mark.parametrize("month", ["２０２５-１０", "9999-12"])
def test_benchmark_months_in_other_digits_are_4xx(enterprise: str, month: str) -> None:
    response = call(build_web_app("api"), "GET", f"/api/v1/benchmarks/{month}")
    assert 400 <= response.status < 500, response.body


@pytest.mark.parametrize("depth", [50, 10_000, 100_000])
def test_deeply_nested_json_is_400_and_changes_nothing(enterprise: str, firestore_db: Any, depth: int) -> None:
    app = build_web_app("api")
    for body in (b"[" * depth + b"]" * depth, b'{"name":' * depth + b'"X"' + b"}" * depth):
        problem = assert_problem(call(app, "PATCH", "/api/v1/enterprise", body=body))
        assert problem["code"] in {"malformed_json", "body_too_deep"}
    assert firestore_db.collection("enterprises").document(EID).get().get("name") == "Acme"


@pytest.mark.parametrize("name", ["Acme\nBcc: victim@example.com", "Ac\rme", "Ac\u202eme", "\u0000"])
def test_control_characters_in_free_text_are_400(enterprise: str, firestore_db: Any, name: str) -> None:
    app = build_web_app("api")
    body = json.dumps({"name": name}).encode()
    problem = assert_problem(call(app, "PATCH", "/api/v1/enterprise", body=body))
    assert "body.name" in {e["field"] for e in problem["errors"]}
    assert_problem(call(app, "POST", "/api/v1/enterprises", body=body))
    assert_problem(
        call(app, "GET", "/api/v1/enterprise/usage", {"start": "2026-01-01", "end": "2026-01-02", "model": name})
    )
    assert firestore_db.collection("enterprises").document(EID).get().get("name") == "Acme"
    assert len(list(firestore_db.collection("enterprises").stream())) == 1
