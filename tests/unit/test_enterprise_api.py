"""Enterprise management through the ``api`` application, with behaving fakes of the store and the task queue."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from devstack.tokens import mint_user_token, uid_for_email
from shared.bootstrap import build_web_app
from shared.config import get_settings
from shared.domain.enterprise.audit import AuditAction
from shared.web.app import WebApp
from shared.web.flask_glue import MAX_BODY_BYTES
from shared.web.http import ApiRequest, ApiResponse, Headers
from shared.web.router import Access, Router
from tests.conftest import TEST_PROJECT
from tests.support.fake_invites import FakeInviteDeclines
from tests.support.fake_quotas import FakeQuotaCounter
from tests.support.fake_sync import FakeCoverageStore
from tests.support.fake_task_queue import FakeTaskQueue
from tests.support.fakes import FakeEnterpriseStore


def token(email: str, **claims: Any) -> str:
    return mint_user_token(email, TEST_PROJECT, **claims)


def call(
    app: WebApp,
    method: str,
    path: str,
    email: str | None = None,
    body: Any = None,
    *,
    raw: bytes | None = None,
    content_type: str | None = "application/json",
    **headers: str,
) -> ApiResponse:
    hdrs = dict(headers)
    if email:
        hdrs["Authorization"] = f"Bearer {token(email)}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    if data and content_type:
        hdrs["Content-Type"] = content_type
    response = app.handle(ApiRequest(method, path, Headers(hdrs), {}, data))
    if response.status >= 400:
        assert response.content_type == "application/problem+json"
        assert json.loads(response.body)["status"] == response.status
    return response


def body_of(response: ApiResponse) -> Any:
    return json.loads(response.body)


ALICE, BOB, VICTOR = "alice@example.com", "bob@example.com", "victor@example.com"


@pytest.fixture
def store() -> FakeEnterpriseStore:
    return FakeEnterpriseStore()


@pytest.fixture
def queue() -> FakeTaskQueue:
    return FakeTaskQueue()


@pytest.fixture
def app(store: FakeEnterpriseStore, queue: FakeTaskQueue) -> WebApp:
    return build_web_app(
        "api",
        enterprises=store,
        tasks=queue,
        invite_declines=FakeInviteDeclines(),
        quotas=FakeQuotaCounter(),
        coverage=FakeCoverageStore(),
    )


@pytest.fixture
def acme(app: WebApp) -> str:
    """Acme: alice is admin, victor a viewer (invited, then accepted)."""
    enterprise_id: str = body_of(call(app, "POST", "/api/v1/enterprises", ALICE, {"name": "Acme"}))["id"]
    assert call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": VICTOR}).status == 201
    assert call(app, "POST", f"/api/v1/invites/{enterprise_id}/accept", VICTOR).status == 200
    return enterprise_id


# --- PATCH /api/v1/enterprise ------------------------------------------------------------------------------------


def test_admin_changes_some_settings_and_the_others_keep_their_value(app: WebApp, acme: str) -> None:
    changed = call(
        app, "PATCH", "/api/v1/enterprise", ALICE, {"industry": "finance", "settings": {"sync_frequency": "hourly"}}
    )
    assert changed.status == 200, changed.body
    doc = body_of(changed)
    assert (doc["name"], doc["industry"]) == ("Acme", "finance")
    assert doc["settings"] == {
        "sync_frequency": "hourly",
        "email_reports": True,
        "report_recipients": [],
        "share_anonymous_benchmarks": False,
    }
    assert body_of(call(app, "GET", "/api/v1/enterprise", VICTOR))["settings"]["sync_frequency"] == "hourly"


def test_benchmark_sharing_changes_are_audited_and_other_changes_are_not(
    app: WebApp, acme: str, store: FakeEnterpriseStore
) -> None:
    def sharing_entries() -> list[Any]:
        return [e for e in store.audit.get(acme, {}).values() if e.action is AuditAction.SETTING_CHANGED]

    call(app, "PATCH", "/api/v1/enterprise", ALICE, {"name": "Acme Corp", "settings": {"email_reports": False}})
    assert sharing_entries() == []
    call(app, "PATCH", "/api/v1/enterprise", ALICE, {"settings": {"share_anonymous_benchmarks": True}})
    call(app, "PATCH", "/api/v1/enterprise", ALICE, {"settings": {"share_anonymous_benchmarks": True}})
    [entry] = sharing_entries()
    assert (entry.target, entry.before, entry.after) == ("share_anonymous_benchmarks", False, True)
    assert entry.actor.uid == uid_for_email(ALICE)
    assert store.docs[acme].settings.share_anonymous_benchmarks is True


def test_report_recipients_are_validated_deduplicated_and_capped(app: WebApp, acme: str) -> None:
    ok = call(
        app,
        "PATCH",
        "/api/v1/enterprise",
        ALICE,
        {"settings": {"report_recipients": [VICTOR, VICTOR.upper(), ALICE]}},
    )
    assert body_of(ok)["settings"]["report_recipients"] == [VICTOR, ALICE]
    too_many = [f"r{i}@acme.example" for i in range(51)]
    refused = call(app, "PATCH", "/api/v1/enterprise", ALICE, {"settings": {"report_recipients": too_many}})
    assert refused.status == 400
    assert [e["field"] for e in body_of(refused)["errors"]] == ["body.settings.report_recipients"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"industry": "astrology"}, "body.industry"),
        ({"name": "   "}, "body.name"),
        ({"settings": {"report_recipients": ["not-an-address"]}}, "body.settings.report_recipients.0"),
        ({"settings": {"sync_frequency": "weekly"}}, "body.settings.sync_frequency"),
        ({"settings": {"colour": "red"}}, "body.settings.colour"),
        ({"members": {}}, "body.members"),
    ],
)
def test_invalid_patches_name_the_field_and_do_not_echo_the_value(
    app: WebApp, acme: str, store: FakeEnterpriseStore, patch: dict[str, Any], field: str
) -> None:
    before = store.docs[acme]
    response = call(app, "PATCH", "/api/v1/enterprise", ALICE, patch)
    assert response.status == 400
    problem = body_of(response)
    assert problem["code"] == "validation_failed"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["errors"][0]["reason"]
    assert "astrology" not in response.body.decode()
    assert "not-an-address" not in response.body.decode()
    assert store.docs[acme] == before


def test_report_recipients_must_be_members_so_the_email_relays_to_nobody_else(
    app: WebApp, acme: str, store: FakeEnterpriseStore
) -> None:
    strangers = [VICTOR, "victim@example.org"]
    refused = call(app, "PATCH", "/api/v1/enterprise", ALICE, {"settings": {"report_recipients": strangers}})
    assert (refused.status, body_of(refused)["code"]) == (400, "recipient_not_member")
    assert "victim@example.org" not in refused.body.decode()
    assert store.docs[acme].settings.report_recipients == []
    call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": BOB})  # invited is not enough
    pending = call(app, "PATCH", "/api/v1/enterprise", ALICE, {"settings": {"report_recipients": [BOB]}})
    assert body_of(pending)["code"] == "recipient_not_member"


def test_viewers_cannot_change_the_enterprise(app: WebApp, acme: str, store: FakeEnterpriseStore) -> None:
    response = call(app, "PATCH", "/api/v1/enterprise", VICTOR, {"name": "Pwned"})
    assert response.status == 403
    assert body_of(response)["code"] == "admin_required"
    assert store.docs[acme].name == "Acme"


# --- members -----------------------------------------------------------------------------------------------------


def test_invite_lists_as_pending_until_the_invitee_accepts_then_as_member(app: WebApp, acme: str) -> None:
    invited = call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": "Bob@Example.com", "role": "admin"})
    assert invited.status == 201
    assert body_of(invited) | {"since": None} == {
        "id": BOB,
        "email": BOB,
        "role": "admin",
        "status": "invited",
        "since": None,
        "invited_by": uid_for_email(ALICE),
    }
    again = call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": BOB, "role": "admin"})
    assert again.status == 200
    listed = body_of(call(app, "GET", "/api/v1/enterprise/members", VICTOR))["members"]
    assert {(m["email"], m["status"]) for m in listed} == {(ALICE, "active"), (VICTOR, "active"), (BOB, "invited")}

    assert call(app, "GET", "/api/v1/enterprise", BOB).status == 404  # calling is not accepting
    assert call(app, "POST", f"/api/v1/invites/{acme}/accept", BOB).status == 200
    assert body_of(call(app, "GET", "/api/v1/enterprise", BOB))["your_role"] == "admin"
    listed = body_of(call(app, "GET", "/api/v1/enterprise/members", BOB))["members"]
    assert {(m["id"], m["status"]) for m in listed if m["email"] == BOB} == {(uid_for_email(BOB), "active")}


def test_a_token_without_a_verified_email_does_not_accept_an_invite(app: WebApp, acme: str) -> None:
    call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": BOB})
    unverified = mint_user_token(BOB, TEST_PROJECT, email_verified=False)
    headers = Headers({"Authorization": f"Bearer {unverified}"})
    response = app.handle(ApiRequest("POST", f"/api/v1/invites/{acme}/accept", headers))
    assert response.status == 403
    assert app.handle(ApiRequest("GET", "/api/v1/enterprise", headers)).status == 404


def test_roles_change_and_members_leave_but_never_the_last_admin(app: WebApp, acme: str) -> None:
    victor = uid_for_email(VICTOR)
    alice = uid_for_email(ALICE)
    last = call(app, "PATCH", f"/api/v1/enterprise/members/{alice}", ALICE, {"role": "viewer"})
    assert (last.status, body_of(last)["code"]) == (409, "last_admin")
    assert call(app, "DELETE", f"/api/v1/enterprise/members/{alice}", ALICE).status == 409

    promoted = call(app, "PATCH", f"/api/v1/enterprise/members/{victor}", ALICE, {"role": "admin"})
    assert (promoted.status, body_of(promoted)["role"]) == (200, "admin")
    left = call(app, "DELETE", f"/api/v1/enterprise/members/{alice}", ALICE)
    assert (left.status, left.body) == (204, b"")
    assert call(app, "GET", "/api/v1/enterprise", ALICE).status == 404
    assert [m["email"] for m in body_of(call(app, "GET", "/api/v1/enterprise/members", VICTOR))["members"]] == [VICTOR]


def test_a_pending_invite_is_addressed_by_its_email(app: WebApp, acme: str) -> None:
    call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": BOB})
    upgraded = call(app, "PATCH", "/api/v1/enterprise/members/BOB@example.com", ALICE, {"role": "admin"})
    assert body_of(upgraded)["role"] == "admin"
    assert call(app, "DELETE", f"/api/v1/enterprise/members/{BOB}", ALICE).status == 204
    assert call(app, "GET", "/api/v1/enterprise", BOB).status == 404


def test_members_of_another_enterprise_are_not_found(app: WebApp, acme: str) -> None:
    call(app, "POST", "/api/v1/enterprises", BOB, {"name": "Globex"})
    bob = uid_for_email(BOB)
    response = call(app, "DELETE", f"/api/v1/enterprise/members/{bob}", ALICE)
    assert (response.status, body_of(response)["code"]) == (404, "member_not_found")
    assert call(app, "GET", "/api/v1/enterprise", BOB).status == 200


def test_inviting_an_existing_member_is_a_conflict(app: WebApp, acme: str) -> None:
    response = call(app, "POST", "/api/v1/enterprise/members", ALICE, {"email": "VICTOR@example.com"})
    assert (response.status, body_of(response)["code"]) == (409, "already_member")


# --- DELETE /api/v1/enterprise -----------------------------------------------------------------------------------


def test_erasure_closes_the_enterprise_at_once_and_schedules_the_erase_task(
    app: WebApp, acme: str, queue: FakeTaskQueue, store: FakeEnterpriseStore
) -> None:
    assert call(app, "DELETE", "/api/v1/enterprise", VICTOR).status == 403
    response = call(app, "DELETE", "/api/v1/enterprise", ALICE)
    assert (response.status, body_of(response)) == (202, {"status": "closing"})
    [task] = queue.tasks(get_settings().erase_queue)
    assert task.function == "enterprise_erase"
    assert task.payload == {"enterprise_id": acme}
    assert acme in task.name
    assert store.docs[acme].status == "closing"
    # Delivered once requests started before the closing have ended (the worker refuses it sooner).
    closing_since = store.docs[acme].closing_since
    assert closing_since is not None
    assert task.schedule_time == closing_since + timedelta(seconds=get_settings().erasure_settle_s)
    for who in (ALICE, VICTOR):
        assert call(app, "GET", "/api/v1/enterprise", who).status == 404
    assert call(app, "DELETE", "/api/v1/enterprise", ALICE).status == 404
    assert [e.action for e in store.audit[acme].values()].count(AuditAction.ERASURE_REQUESTED) == 1


def test_erasure_that_cannot_be_scheduled_is_a_503_and_a_retry_schedules_it_once(
    app: WebApp, acme: str, queue: FakeTaskQueue, store: FakeEnterpriseStore
) -> None:
    queue.down = True
    failed = call(app, "DELETE", "/api/v1/enterprise", ALICE)
    assert (failed.status, failed.headers["Retry-After"]) == (503, "30")
    assert store.docs[acme].status == "active"
    queue.heal()
    assert call(app, "DELETE", "/api/v1/enterprise", ALICE).status == 202
    assert len(queue.tasks(get_settings().erase_queue)) == 1


# --- request bodies and errors -----------------------------------------------------------------------------------


def test_an_oversized_body_is_a_413(app: WebApp, acme: str) -> None:
    raw = json.dumps({"name": "x" * MAX_BODY_BYTES}).encode()
    response = call(app, "PATCH", "/api/v1/enterprise", ALICE, raw=raw)
    assert (response.status, body_of(response)["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_in_another_media_type_is_a_415(app: WebApp, acme: str, content_type: str) -> None:
    response = call(app, "PATCH", "/api/v1/enterprise", ALICE, {"name": "Acme 2"}, content_type=content_type)
    assert (response.status, body_of(response)["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json", None])
def test_json_media_types_are_accepted(app: WebApp, acme: str, content_type: str | None) -> None:
    response = call(app, "PATCH", "/api/v1/enterprise", ALICE, {"name": "Acme 2"}, content_type=content_type)
    assert response.status == 200


class _Page(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=100)


def _probe_app() -> WebApp:
    router = Router("api")

    @router.route("GET", "/probe", access=Access.PUBLIC, summary="probe", query=_Page)
    def probe(ctx: Any) -> dict[str, int]:
        return {"limit": ctx.query_as(_Page).limit}

    @router.route("GET", "/broken", access=Access.PUBLIC, summary="a handler with a bug")
    def broken(ctx: Any) -> BaseModel:
        return _Page.model_validate({"limit": "secret-looking-value"})

    return build_web_app("api", router=router, enterprises=FakeEnterpriseStore())


def test_query_validation_errors_name_the_query_parameter() -> None:
    response = _probe_app().handle(ApiRequest("GET", "/probe", query={"limit": ["0"]}))
    assert response.status == 400
    assert [e["field"] for e in body_of(response)["errors"]] == ["query.limit"]


def test_a_validation_error_inside_a_handler_is_a_bug_not_a_client_error() -> None:
    response = _probe_app().handle(ApiRequest("GET", "/broken"))
    assert response.status == 500
    assert body_of(response)["code"] == "internal_error"
    assert "secret-looking-value" not in response.body.decode()
