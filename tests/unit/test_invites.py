"""Invites by consent, through the ``api`` application with a behaving enterprise store.

Nothing changes membership implicitly: the invitee lists the invites sent to their verified email and accepts or
declines each one. The inviter sees the same thing whatever the invitee does with it (or whether they exist).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.tokens import mint_user_token, uid_for_email
from shared.bootstrap import build_web_app
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.fake_invites import FakeInviteDeclines
from tests.support.fake_quotas import FakeQuotaCounter
from tests.support.fake_sync import FakeCoverageStore
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FakeEnterpriseStore

ALICE, BOB, MALLORY = "alice@example.com", "bob@example.com", "mallory@evil.example"
INVITES = "/api/v1/invites"


def call(app: WebApp, method: str, path: str, email: str, body: Any = None, **claims: Any) -> ApiResponse:
    headers = {"Authorization": f"Bearer {mint_user_token(email, TEST_PROJECT, **claims)}"}
    data = json.dumps(body).encode() if body is not None else b""
    if data:
        headers["Content-Type"] = "application/json"
    return app.handle(ApiRequest(method, path, Headers(headers), {}, data))


def body_of(response: ApiResponse) -> Any:
    return json.loads(response.body)


@pytest.fixture
def store() -> FakeEnterpriseStore:
    return FakeEnterpriseStore()


@pytest.fixture
def app(store: FakeEnterpriseStore) -> WebApp:
    return build_web_app(
        "api",
        enterprises=store,
        tasks=FakeTaskQueue(),
        invite_declines=FakeInviteDeclines(),
        quotas=FakeQuotaCounter(),
        coverage=FakeCoverageStore(),
    )


def _enterprise(app: WebApp, admin: str, name: str) -> str:
    enterprise_id: str = body_of(call(app, "POST", "/api/v1/enterprises", admin, {"name": name}))["id"]
    return enterprise_id


def _invite(app: WebApp, admin: str, email: str, role: str = "viewer") -> ApiResponse:
    return call(app, "POST", "/api/v1/enterprise/members", admin, {"email": email, "role": role})


def test_an_invitees_calls_change_no_membership(app: WebApp, store: FakeEnterpriseStore) -> None:
    """The attack: enrol any address into a look-alike enterprise, and watch it join on the victim's next call."""
    bob_own = _enterprise(app, BOB, "Bob's company")
    evil = _enterprise(app, MALLORY, "Bob's c0mpany")
    assert _invite(app, MALLORY, BOB, "admin").status == 201

    mine = call(app, "GET", "/api/v1/enterprise", BOB)  # the victim's default enterprise selection still works

    assert mine.status == 200, mine.body
    assert body_of(mine)["id"] == bob_own
    assert uid_for_email(BOB) not in store.docs[evil].members
    assert BOB in store.docs[evil].invites


def test_the_invitee_lists_and_accepts_an_invite(app: WebApp, store: FakeEnterpriseStore) -> None:
    acme = _enterprise(app, ALICE, "Acme")
    _invite(app, ALICE, "Bob@Example.com", "admin")

    listed = body_of(call(app, "GET", INVITES, BOB))["invites"]
    assert [(i["enterprise_id"], i["enterprise_name"], i["role"]) for i in listed] == [(acme, "Acme", "admin")]
    accepted = call(app, "POST", f"{INVITES}/{acme}/accept", BOB)

    assert accepted.status == 200, accepted.body
    assert body_of(accepted)["your_role"] == "admin"
    assert store.docs[acme].role_of(uid_for_email(BOB)) is not None
    assert store.docs[acme].invites == {}
    assert body_of(call(app, "GET", INVITES, BOB))["invites"] == []
    assert call(app, "POST", f"{INVITES}/{acme}/accept", BOB).status == 404  # consumed


def test_a_declined_invite_is_gone_for_the_invitee_and_looks_unchanged_to_the_inviter(
    app: WebApp, store: FakeEnterpriseStore
) -> None:
    acme = _enterprise(app, ALICE, "Acme")
    _invite(app, ALICE, BOB)
    _invite(app, ALICE, "nobody@example.com")
    before = body_of(call(app, "GET", "/api/v1/enterprise/members", ALICE))

    assert call(app, "POST", f"{INVITES}/{acme}/decline", BOB).status == 204

    assert body_of(call(app, "GET", INVITES, BOB))["invites"] == []
    assert call(app, "POST", f"{INVITES}/{acme}/accept", BOB).status == 404
    assert uid_for_email(BOB) not in store.docs[acme].members
    after = body_of(call(app, "GET", "/api/v1/enterprise/members", ALICE))
    assert after == before  # an address with an account that declined reads like one that never signed in
    again = _invite(app, ALICE, BOB)
    assert again.status == 200  # no new invite, no new notification
    assert body_of(call(app, "GET", INVITES, BOB))["invites"] == []


def test_an_unverified_email_sees_and_accepts_nothing(app: WebApp, store: FakeEnterpriseStore) -> None:
    acme = _enterprise(app, ALICE, "Acme")
    _invite(app, ALICE, BOB)
    listed = call(app, "GET", INVITES, BOB, email_verified=False)
    accepted = call(app, "POST", f"{INVITES}/{acme}/accept", BOB, email_verified=False)
    assert (listed.status, body_of(listed)["code"]) == (403, "email_not_verified")
    assert (accepted.status, body_of(accepted)["code"]) == (403, "email_not_verified")
    assert store.docs[acme].members.keys() == {uid_for_email(ALICE)}


def test_an_invite_for_someone_else_cannot_be_accepted(app: WebApp, store: FakeEnterpriseStore) -> None:
    acme = _enterprise(app, ALICE, "Acme")
    _invite(app, ALICE, BOB)
    for action in ("accept", "decline"):
        response = call(app, "POST", f"{INVITES}/{acme}/{action}", MALLORY)
        assert (response.status, body_of(response)["code"]) == (404, "invite_not_found")
    assert call(app, "POST", f"{INVITES}/ent_missing/accept", BOB).status == 404
    assert BOB in store.docs[acme].invites


def test_the_inviter_gets_the_same_answer_for_any_address(app: WebApp) -> None:
    _enterprise(app, ALICE, "Acme")
    _enterprise(app, BOB, "Bob's company")  # bob has an account; nobody@ does not
    answers = [_invite(app, ALICE, email) for email in (BOB, "nobody@example.com")]
    shapes = [(a.status, sorted(body_of(a))) for a in answers]
    assert shapes[0] == shapes[1]
    assert [body_of(a)["status"] for a in answers] == ["invited", "invited"]
