"""Routes served by the ``api`` function: enterprise management and reads. It never touches secrets."""

from __future__ import annotations

from pydantic import BaseModel

from shared.api import (
    alert_routes,
    benchmark_read_routes,
    enterprise_routes,
    invite_routes,
    meta_routes,
    usage_routes,
)
from shared.api.audit_schemas import AuditEntryView, AuditLogQuery, AuditLogResponse
from shared.api.index_schemas import IndexResponse
from shared.api.schemas import CreateEnterpriseRequest, EnterpriseResponse
from shared.errors import NotFound
from shared.services.enterprise import enterprises, quotas
from shared.services.enterprise.audit import list_audit_log
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
    also_ok=(200,),  # the same Idempotency-Key again: the enterprise it created
    errors=(400, 401, 429),
    tags=("enterprise",),
)
def create_enterprise(ctx: RequestContext) -> ApiResponse:
    user = ctx.require_user()
    body = ctx.body_as(CreateEnterpriseRequest)
    enterprise, created = enterprises.create_enterprise(
        ctx.deps.enterprises,
        ctx.deps.clock,
        user,
        quota=(ctx.deps.quotas, quotas.enterprise_creation(ctx.deps.settings)),
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
    return EnterpriseResponse.of(enterprise, ctx.require_user().uid, ctx.deps.coverage.all(enterprise.id))


@router.route(
    "GET",
    "/api/v1/enterprise/audit-log",
    access=Access.ADMIN,
    summary="The provider-key audit log, newest first: connects, rotations, refused keys, disconnects, reads, failures",
    query=AuditLogQuery,
    response=AuditLogResponse,
    errors=(400, 401, 403, 404, 503),
    tags=("enterprise",),
)
def get_audit_log(ctx: RequestContext) -> BaseModel:
    query = ctx.query_as(AuditLogQuery)
    page = list_audit_log(
        ctx.deps.audit_log, ctx.require_membership().enterprise_id, limit=query.limit, page_token=query.page_token
    )
    return AuditLogResponse(entries=[AuditEntryView.of(e) for e in page.entries], next_page_token=page.next_page_token)


# Routes declared in topic modules, served by this same function.
router.include(enterprise_routes.router)
router.include(invite_routes.router)
router.include(meta_routes.router)
router.include(benchmark_read_routes.router)
router.include(usage_routes.router)
router.include(alert_routes.router)


@router.route(
    "GET",
    "/api/v1/indices/latest",
    access=Access.USER,
    summary="The newest published market (list-price) index: STCI-FRONTIER and STCI-EFFICIENT, 3:1 blend",
    response=IndexResponse,
    errors=(401, 404, 503),
    tags=("index",),
)
def get_latest_index(ctx: RequestContext) -> BaseModel:
    day = ctx.deps.indices.latest()
    if day is None:
        raise NotFound("no market index has been published in the last days", code="index_not_available")
    return IndexResponse.of(day)
