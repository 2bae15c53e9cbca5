"""The invitee's routes of the ``api`` function: list the invites sent to one's verified email, accept, decline.

Included into ``shared.api.api_routes.router``. Any signed-in user may call them; each acts only on invites addressed
to the caller's own verified email, and an enterprise they were not invited to answers 404 like one that does not
exist.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.api.schemas import EnterpriseResponse
from shared.domain.enterprise.model import Role
from shared.services.enterprise import invitations
from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

router = Router("api")

INVITES = "/api/v1/invites"


class InviteView(BaseModel):
    enterprise_id: str
    """Pass to ``/api/v1/invites/{enterprise_id}/accept`` (or ``/decline``)."""
    enterprise_name: str
    role: Role
    """The role you get by accepting."""
    invited_at: datetime


class InvitesResponse(BaseModel):
    invites: list[InviteView] = Field(max_length=invitations.MAX_LISTED)
    """Newest first."""


@router.route(
    "GET",
    INVITES,
    access=Access.USER,
    summary="Invites sent to your verified email that you can accept or decline",
    response=InvitesResponse,
    errors=(401, 403, 503),
    tags=("members",),
)
def list_invites(ctx: RequestContext) -> BaseModel:
    found = invitations.pending_invites(ctx.deps.enterprises, ctx.deps.invite_declines, ctx.require_user())
    return InvitesResponse(
        invites=[
            InviteView(
                enterprise_id=p.enterprise_id, enterprise_name=p.enterprise_name, role=p.role, invited_at=p.invited_at
            )
            for p in found
        ]
    )


@router.route(
    "POST",
    INVITES + "/{enterprise_id}/accept",
    access=Access.USER,
    summary="Accept an invite: you become a member of the enterprise with the invited role",
    response=EnterpriseResponse,
    errors=(401, 403, 404, 503),
    tags=("members",),
    sensitive=True,
)
def accept_invite(ctx: RequestContext) -> BaseModel:
    user = ctx.require_user()
    enterprise_id = ctx.request.path_params["enterprise_id"]
    enterprise = invitations.accept_invite(
        ctx.deps.enterprises, ctx.deps.invite_declines, ctx.deps.clock, user, enterprise_id
    )
    return EnterpriseResponse.of(enterprise, user.uid)


@router.route(
    "POST",
    INVITES + "/{enterprise_id}/decline",
    access=Access.USER,
    summary="Decline an invite; it is no longer offered to you (the enterprise is not told)",
    status=204,
    errors=(401, 403, 404, 503),
    tags=("members",),
)
def decline_invite(ctx: RequestContext) -> ApiResponse:
    invitations.decline_invite(
        ctx.deps.enterprises,
        ctx.deps.invite_declines,
        ctx.deps.clock,
        ctx.require_user(),
        ctx.request.path_params["enterprise_id"],
    )
    return ApiResponse.empty()
