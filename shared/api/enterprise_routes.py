"""Enterprise management routes of the ``api`` function: settings, members and erasure.

Included into ``shared.api.api_routes.router``. The web layer has already resolved the caller's membership of the
selected enterprise (404 for any other enterprise, 403 for a viewer on an admin route); handlers only parse, call one
service and shape the response.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from shared.api.enterprise_schemas import (
    AddMemberRequest,
    ChangeRoleRequest,
    ErasureResponse,
    MemberEntryView,
    MembersResponse,
    UpdateEnterpriseRequest,
    member_entry,
)
from shared.api.schemas import EnterpriseResponse
from shared.services.enterprise import enterprises, members, quotas
from shared.services.enterprise.enterprise_settings import update_enterprise
from shared.services.enterprise.erasure_request import request_erasure
from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

router = Router("api")

MEMBERS = "/api/v1/enterprise/members"


@router.route(
    "PATCH",
    "/api/v1/enterprise",
    access=Access.ADMIN,
    summary="Change the enterprise's name, industry or settings (omitted fields are unchanged)",
    body=UpdateEnterpriseRequest,
    response=EnterpriseResponse,
    tags=("enterprise",),
)
def patch_enterprise(ctx: RequestContext) -> BaseModel:
    user = ctx.require_user()
    body = ctx.body_as(UpdateEnterpriseRequest)
    enterprise = update_enterprise(
        ctx.deps.enterprises,
        ctx.deps.clock,
        user,
        ctx.require_membership().enterprise_id,
        name=body.name,
        industry=body.industry,
        settings=body.settings.model_dump(exclude_none=True) if body.settings else None,
    )
    return EnterpriseResponse.of(enterprise, user.uid)


@router.route(
    "DELETE",
    "/api/v1/enterprise",
    access=Access.ADMIN,
    summary="Erase the enterprise and all its data (GDPR): closed to members at once, erased shortly after",
    response=ErasureResponse,
    status=202,
    tags=("enterprise",),
    sensitive=True,
)
def delete_enterprise(ctx: RequestContext) -> BaseModel:
    request_erasure(
        ctx.deps.enterprises,
        ctx.deps.tasks,
        ctx.deps.clock,
        ctx.require_user(),
        ctx.require_membership().enterprise_id,
        queue=ctx.deps.settings.erase_queue,
        settle=timedelta(seconds=ctx.deps.settings.erasure_settle_s),
    )
    return ErasureResponse(status="closing")


@router.route(
    "GET",
    MEMBERS,
    access=Access.MEMBER,
    summary="Members of the enterprise and pending invites",
    response=MembersResponse,
    tags=("members",),
)
def list_members(ctx: RequestContext) -> BaseModel:
    enterprise = enterprises.get_enterprise(ctx.deps.enterprises, ctx.require_membership().enterprise_id)
    return MembersResponse.of(enterprise)


@router.route(
    "POST",
    MEMBERS,
    access=Access.ADMIN,
    summary="Invite someone by email; they become a member when they accept (GET /api/v1/invites)",
    body=AddMemberRequest,
    response=MemberEntryView,
    status=201,
    also_ok=(200,),  # already invited or a member: nothing changed
    errors=(409, 429),
    tags=("members",),
    sensitive=True,
)
def add_member(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_as(AddMemberRequest)
    deps = ctx.deps
    quotas.spend(deps.quotas, deps.clock, quotas.invites(deps.settings), ctx.require_membership().enterprise_id)
    enterprise, changed = members.invite_member(
        ctx.deps.enterprises,
        ctx.deps.clock,
        ctx.require_user(),
        ctx.require_membership().enterprise_id,
        email=body.email,
        role=body.role,
    )
    return ApiResponse.json(member_entry(enterprise, body.email), status=201 if changed else 200)


@router.route(
    "PATCH",
    MEMBERS + "/{uid}",
    access=Access.ADMIN,
    summary="Change a member's role ({uid}: a member's uid, or the email of a pending invite)",
    body=ChangeRoleRequest,
    response=MemberEntryView,
    errors=(409,),
    tags=("members",),
    sensitive=True,
)
def patch_member(ctx: RequestContext) -> BaseModel:
    member_id = ctx.request.path_params["uid"]
    enterprise = members.change_role(
        ctx.deps.enterprises,
        ctx.deps.clock,
        ctx.require_user(),
        ctx.require_membership().enterprise_id,
        member_id,
        ctx.body_as(ChangeRoleRequest).role,
    )
    return member_entry(enterprise, member_id)


@router.route(
    "DELETE",
    MEMBERS + "/{uid}",
    access=Access.ADMIN,
    summary="Remove a member, or withdraw a pending invite ({uid}: a uid, or the invited email)",
    status=204,
    errors=(409,),
    tags=("members",),
    sensitive=True,
)
def delete_member(ctx: RequestContext) -> ApiResponse:
    members.remove_member(
        ctx.deps.enterprises,
        ctx.deps.clock,
        ctx.require_user(),
        ctx.require_membership().enterprise_id,
        ctx.request.path_params["uid"],
    )
    return ApiResponse.empty()
