"""``firestore.rules`` on the emulator, one persona per case, through the REST API a browser's SDK would use.

The session's emulator runs the repository's real rules file. Data is seeded with the emulator's owner token
(``Authorization: Bearer owner`` bypasses rules, like the server SDKs); each case then calls as one persona with an
unsigned Firebase ID token, which the emulator accepts as the Auth emulator's own. The personas:

* ``anonymous``: no token;
* ``outsider``: signed in, member of nothing;
* ``viewer`` and ``admin``: members of enterprise A;
* ``other_admin``: admin of enterprise B only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devstack.firestore_emulator import reset_firestore
from devstack.tokens import mint_user_token

PROJECT = "demo-rules"
"""A project of its own, so other tests' resets of the test project cannot race with the seeded data."""

UIDS = {"outsider": "uid_outsider", "viewer": "uid_viewer", "admin": "uid_admin", "other_admin": "uid_other_admin"}
PERSONAS = ("anonymous", "outsider", "viewer", "admin", "other_admin")
MEMBERS_OF_A = frozenset({"viewer", "admin"})
SIGNED_IN = frozenset(PERSONAS) - {"anonymous"}
NOBODY: frozenset[str] = frozenset()

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _enterprise(members: dict[str, str], status: str = "active") -> dict[str, Any]:
    return {
        "name": "Acme",
        "status": status,
        "members": {
            UIDS[p]: {"email": f"{p}@example.com", "role": role, "added_at": NOW} for p, role in members.items()
        },
        "member_uids": sorted(UIDS[p] for p in members),
        "settings": {"share_anonymous_benchmarks": False},
    }


SEED: dict[str, dict[str, Any]] = {
    "enterprises/ent_a": _enterprise({"admin": "admin", "viewer": "viewer"}),
    "enterprises/ent_b": _enterprise({"other_admin": "admin"}),
    "enterprises/ent_closing": _enterprise({"admin": "admin", "viewer": "viewer"}, status="closing"),
    "enterprises/ent_a/usage_snapshots/2026-11-20": {"billed_usd": "12.50"},
    "enterprises/ent_a/usage_months/2026-11": {"billed_usd": "340.00"},
    "enterprises/ent_a/reports/2026-10": {"sent": True},
    "enterprises/ent_a/budgets/current": {"anomaly_alerts": True, "webhook": {"host": "hooks.example.com"}},
    "enterprises/ent_a/alerts/budget_warning-2026-11-0123456789abcdef": {"kind": "budget_warning", "open": False},
    "enterprises/ent_a/private/alert_webhook": {"url": "https://hooks.example.com/T/secret", "secret": "whsec_x"},
    "enterprises/ent_closing/alerts/budget_warning-2026-11-0123456789abcdef": {"kind": "budget_warning"},
    "enterprises/ent_a/private/providers": {"openai": {"secret_version": "projects/p/secrets/s/versions/3"}},
    "enterprises/ent_a/audit_log/connect-openai-v3": {"action": "connect"},
    "enterprises/ent_a/raw_responses/r1": {"body": "{}"},
    "enterprises/ent_closing/usage_months/2026-11": {"billed_usd": "1.00"},
    "indices/2026-11-20": {"models": {"gpt-4o": {"input_usd_per_1m": "2.50"}}},
    "benchmarks/2026-10": {"published": True},
    "benchmark_runs/2026-10": {"version": 1, "contributors": "ent_a"},
    "benchmark_runs/2026-10/versions/1": {"inputs_hash": "0f"},
    "erasures/ent_gone": {"requested_at": NOW, "erased_at": NOW},
    "invite_declines/0123abcd": {"enterprises": {"ent_a": NOW}},
    "quotas/invites-0123abcd-20415": {"count": 3},
}

READERS: dict[str, frozenset[str]] = {
    "enterprises/ent_a": MEMBERS_OF_A,
    "enterprises/ent_a/usage_snapshots/2026-11-20": MEMBERS_OF_A,
    "enterprises/ent_a/usage_months/2026-11": MEMBERS_OF_A,
    "enterprises/ent_a/reports/2026-10": MEMBERS_OF_A,
    "enterprises/ent_a/budgets/current": MEMBERS_OF_A,
    "enterprises/ent_a/alerts/budget_warning-2026-11-0123456789abcdef": MEMBERS_OF_A,
    "enterprises/ent_a/private/alert_webhook": NOBODY,
    "enterprises/ent_closing/alerts/budget_warning-2026-11-0123456789abcdef": NOBODY,
    "enterprises/ent_a/private/providers": NOBODY,
    "enterprises/ent_a/audit_log/connect-openai-v3": NOBODY,
    "enterprises/ent_a/raw_responses/r1": NOBODY,
    "enterprises/ent_closing": NOBODY,
    "enterprises/ent_closing/usage_months/2026-11": NOBODY,
    "indices/2026-11-20": SIGNED_IN,
    "benchmarks/2026-10": SIGNED_IN,
    "benchmark_runs/2026-10": NOBODY,
    "benchmark_runs/2026-10/versions/1": NOBODY,
    "erasures/ent_gone": NOBODY,
    "invite_declines/0123abcd": NOBODY,  # a decline must not reach the inviting enterprise's members
    "quotas/invites-0123abcd-20415": NOBODY,
}
"""Who may read each seeded document (``enterprises/ent_b`` is only there to give ``other_admin`` an enterprise)."""

LISTERS: dict[str, frozenset[str]] = {
    "enterprises/ent_a/usage_snapshots": MEMBERS_OF_A,
    "enterprises/ent_a/usage_months": MEMBERS_OF_A,
    "enterprises/ent_a/reports": MEMBERS_OF_A,
    "enterprises/ent_a/budgets": MEMBERS_OF_A,
    "enterprises/ent_a/alerts": MEMBERS_OF_A,
    "enterprises/ent_a/private": NOBODY,
    "enterprises/ent_a/audit_log": NOBODY,
    "enterprises/ent_a/raw_responses": NOBODY,
    "indices": SIGNED_IN,
    "benchmarks": SIGNED_IN,
    "benchmark_runs": NOBODY,
    "enterprises": NOBODY,
    "erasures": NOBODY,
    "invite_declines": NOBODY,
    "quotas": NOBODY,
}
"""Who may list each collection (a list is a query: rules must allow every document it could return)."""


def _value(value: Any) -> dict[str, Any]:
    """A Python value in the Firestore REST API's typed JSON."""
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, datetime):
        return {"timestampValue": value.isoformat().replace("+00:00", "Z")}
    if isinstance(value, dict):
        return {"mapValue": {"fields": {k: _value(v) for k, v in value.items()}}}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    raise TypeError(f"cannot encode {type(value).__name__}")


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    return {"fields": {k: _value(v) for k, v in data.items()}}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as shared:
        yield shared


@pytest.fixture(scope="module")
def documents_url(firestore_host: str) -> Iterator[str]:
    """Seed once for the module (cases only read, and every write they try must be refused)."""
    reset_firestore(firestore_host, PROJECT)
    base = f"http://{firestore_host}/v1/projects/{PROJECT}/databases/(default)/documents"
    with httpx.Client(headers={"Authorization": "Bearer owner"}) as owner:
        for path, data in SEED.items():
            owner.patch(f"{base}/{path}", json=_fields(data)).raise_for_status()
    yield base
    reset_firestore(firestore_host, PROJECT)


def _headers(persona: str) -> dict[str, str]:
    if persona == "anonymous":
        return {}
    token = mint_user_token(f"{persona}@example.com", PROJECT, uid=UIDS[persona])
    return {"Authorization": f"Bearer {token}"}


def _cases(table: dict[str, frozenset[str]]) -> list[Any]:
    return [
        pytest.param(persona, path, persona in allowed, id=f"{persona}-{path}")
        for path, allowed in table.items()
        for persona in PERSONAS
    ]


@pytest.mark.parametrize(("persona", "path", "allowed"), _cases(READERS))
def test_get_document(client: httpx.Client, documents_url: str, persona: str, path: str, allowed: bool) -> None:
    response = client.get(f"{documents_url}/{path}", headers=_headers(persona))
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["name"].endswith(path)
    else:
        assert response.status_code == 403, response.text
        assert "fields" not in response.text


@pytest.mark.parametrize(("persona", "path", "allowed"), _cases(LISTERS))
def test_list_collection(client: httpx.Client, documents_url: str, persona: str, path: str, allowed: bool) -> None:
    response = client.get(f"{documents_url}/{path}", headers=_headers(persona))
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["documents"], "the seeded documents are listed"
    else:
        assert response.status_code == 403, response.text


WRITABLE_PATHS = [*SEED, "enterprises/ent_new", "enterprises/ent_a/usage_months/2026-12", "users/uid_admin"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("path", WRITABLE_PATHS)
def test_no_client_may_create_or_update_anything(
    client: httpx.Client, documents_url: str, persona: str, path: str
) -> None:
    attempt = client.patch(
        f"{documents_url}/{path}", headers=_headers(persona), json=_fields({"status": "active", "hacked": True})
    )
    assert attempt.status_code == 403, attempt.text


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("path", list(SEED))
def test_no_client_may_delete_anything(client: httpx.Client, documents_url: str, persona: str, path: str) -> None:
    attempt = client.delete(f"{documents_url}/{path}", headers=_headers(persona))
    assert attempt.status_code == 403, attempt.text


def test_refused_writes_left_every_document_as_seeded(documents_url: str) -> None:
    """Runs after the write cases (file order): nothing they tried changed or removed a document."""
    with httpx.Client(headers={"Authorization": "Bearer owner"}) as owner:
        for path, data in SEED.items():
            stored = owner.get(f"{documents_url}/{path}")
            assert stored.status_code == 200, path
            assert stored.json()["fields"] == _fields(data)["fields"], path
        assert owner.get(f"{documents_url}/enterprises/ent_new").status_code == 404
