"""Errors are problem details over real HTTP too (functions-framework in front): 413, 415, and the public spec."""

from __future__ import annotations

from typing import Any

import httpx

from devstack.tokens import mint_user_token
from shared.web.flask_glue import MAX_BODY_BYTES
from tests.conftest import TEST_PROJECT


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_user_token('erin@example.com', TEST_PROJECT)}"}


def test_an_oversized_body_is_a_413_problem(api_url: str, firestore_db: Any) -> None:
    body = b'{"name": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    response = httpx.post(
        f"{api_url}/api/v1/enterprises", content=body, headers={**_auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    assert list(firestore_db.collection("enterprises").stream()) == []


def test_a_form_post_is_a_415_problem(api_url: str, firestore_db: Any) -> None:
    response = httpx.post(f"{api_url}/api/v1/enterprises", data={"name": "Acme"}, headers=_auth())
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_the_openapi_document_is_served_without_a_token(api_url: str) -> None:
    response = httpx.get(f"{api_url}/api/v1/openapi.json", timeout=30)  # built on first use
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert "/api/v1/enterprise/members/{uid}" in document["paths"]


def test_a_path_the_framework_cannot_route_is_still_a_problem(api_url: str) -> None:
    """A line break in a path parameter does not match functions-framework's own route: Flask would answer HTML."""
    response = httpx.post(f"{api_url}/api/v1/invites/%03%0AAb/accept", headers=_auth())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "route_not_found"
