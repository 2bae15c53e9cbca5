"""Routes served by the ``api`` function: enterprise management and reads. It never touches secrets."""

from __future__ import annotations

from pydantic import BaseModel

from shared.api.schemas import CreateEnterpriseRequest, EnterpriseResponse
from shared.services import enterprises
from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

router = Router("api")


@router.route(
    "POST",
    "/api/v1/enterprises",
    access=Access.USER,
    summary="Create an enterprise; the caller becomes its admin",
    body=CreateEnterpriseRequest,
    response=EnterpriseResponse,
    status=201,
    errors=(400, 401),
    tags=("enterprise",),
)
def create_enterprise(ctx: RequestContext) -> ApiResponse:
    user = ctx.require_user()
    body = ctx.body_as(CreateEnterpriseRequest)
    enterprise, created = enterprises.create_enterprise(
        ctx.deps.enterprises,
        ctx.deps.clock,
        user,
        name=body.name,
        industry=body.industry,
        idempotency_key=ctx.request.headers.get("idempotency-key"),
    )
    return ApiResponse.json(EnterpriseResponse.of(enterprise, user.uid), status=201 if created else 200)


@router.route(
    "GET",
    "/api/v1/enterprise",
    access=Access.MEMBER,
    summary="The selected enterprise: settings, connected providers and members",
    response=EnterpriseResponse,
    errors=(400, 401, 404),
    tags=("enterprise",),
)
def get_enterprise(ctx: RequestContext) -> BaseModel:
    membership = ctx.require_membership()
    enterprise = enterprises.get_enterprise(ctx.deps.enterprises, membership.enterprise_id)
    return EnterpriseResponse.of(enterprise, ctx.require_user().uid)
