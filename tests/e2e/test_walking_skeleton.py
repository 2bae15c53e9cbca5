"""The walking skeleton end to end: auth → api function (functions-framework) → Firestore emulator, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from devstack.tokens import mint_user_token
from tests.conftest import TEST_PROJECT


def test_create_then_read_enterprise_over_http(api_url: str, firestore_db: Any) -> None:
    token = mint_user_token("dana@example.com", TEST_PROJECT)
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        f"{api_url}/api/v1/enterprises", json={"name": "Globex", "industry": "retail"}, headers=headers
    )
    assert created.status_code == 201, created.text
    enterprise_id = created.json()["id"]

    stored = firestore_db.collection("enterprises").document(enterprise_id).get().to_dict()
    assert stored["name"] == "Globex"
    assert stored["members"][created.json()["members"][0]["uid"]]["role"] == "admin"

    fetched = httpx.get(f"{api_url}/api/v1/enterprise", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json()["id"] == enterprise_id
    assert fetched.json()["industry"] == "retail"


def test_missing_and_foreign_tokens_get_json_401(api_url: str, firestore_db: Any) -> None:
    anonymous = httpx.get(f"{api_url}/api/v1/enterprise")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["code"] == "missing_token"
    foreign = httpx.get(
        f"{api_url}/api/v1/enterprise",
        headers={"Authorization": f"Bearer {mint_user_token('x@example.com', 'someone-elses-project')}"},
    )
    assert foreign.status_code == 401
    assert foreign.json()["code"] == "invalid_token"
