"""Routes served by the ``connect`` function: connect, rotate and disconnect provider keys (OpenAI and Anthropic admin
keys, Google service-account keys with their projects and billing export).

It is the only public function that may write secrets (ADR 0001); it can never read one back. Every route is for
admins of the selected enterprise: viewers get 403 and everyone else 404, before a handler runs.
"""

from __future__ import annotations

from pydantic import SecretStr

from shared.api.provider_schemas import (
    ConnectAnthropicRequest,
    ConnectGoogleRequest,
    ConnectOpenAIRequest,
    ConnectResponse,
    DisconnectResponse,
)
from shared.domain.audit import Actor
from shared.domain.enterprise import ProviderName
from shared.domain.google_connection import bundle
from shared.domain.provider_keys import CONNECTABLE
from shared.errors import NotFound
from shared.services import quotas
from shared.services.connect_provider import ConnectProvider
from shared.services.disconnect_provider import disconnect_provider
from shared.web.context import RequestContext
from shared.web.http import ApiResponse
from shared.web.router import Access, Router

router = Router("connect")

_CONNECT_ERRORS = (400, 401, 403, 404, 409, 429, 502, 503)


def _actor(ctx: RequestContext) -> Actor:
    user = ctx.require_user()
    return Actor.user(user.uid, user.email)


def _connect(ctx: RequestContext, provider: ProviderName, key: SecretStr, org_id: str | None = None) -> ApiResponse:
    deps = ctx.deps
    enterprise_id = ctx.require_membership().enterprise_id
    # Counted before the key is tried: every attempt, refused keys included, is one a prober could make.
    quotas.spend(deps.quotas, deps.clock, quotas.connect_attempts(deps.settings), enterprise_id)
    use_case = ConnectProvider(
        enterprises=deps.enterprises,
        connections=deps.provider_connections,
        secrets=deps.secrets,
        sources=deps.usage_source_factory,
        tasks=deps.tasks,
        audit_log=deps.audit_log,
        clock=deps.clock,
        settings=deps.settings,
    )
    result = use_case.connect(enterprise_id, provider, key, _actor(ctx), declared_org_id=org_id)
    return ApiResponse.json(ConnectResponse.of(result), status=200 if result.rotated else 201)


@router.route(
    "POST",
    "/api/v1/enterprise/connect/openai",
    access=Access.ADMIN,
    summary="Connect OpenAI with an admin key, or rotate its key; the first connection starts the history backfill",
    body=ConnectOpenAIRequest,
    response=ConnectResponse,
    status=201,
    also_ok=(200,),  # a key rotation
    errors=_CONNECT_ERRORS,
    tags=("connect",),
    sensitive=True,
)
def connect_openai(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_as(ConnectOpenAIRequest)
    return _connect(ctx, ProviderName.OPENAI, body.admin_api_key, body.org_id)


@router.route(
    "POST",
    "/api/v1/enterprise/connect/anthropic",
    access=Access.ADMIN,
    summary="Connect Anthropic with an admin key, or rotate its key; the first connection starts the history backfill",
    body=ConnectAnthropicRequest,
    response=ConnectResponse,
    status=201,
    also_ok=(200,),  # a key rotation
    errors=_CONNECT_ERRORS,
    tags=("connect",),
    sensitive=True,
)
def connect_anthropic(ctx: RequestContext) -> ApiResponse:
    return _connect(ctx, ProviderName.ANTHROPIC, ctx.body_as(ConnectAnthropicRequest).admin_api_key)


@router.route(
    "POST",
    "/api/v1/enterprise/connect/google",
    access=Access.ADMIN,
    summary=(
        "Connect Google (Gemini on Vertex AI and the Gemini API) with a service-account key, project ids and an "
        "optional Cloud Billing export table, or rotate them; the first connection starts the history backfill"
    ),
    body=ConnectGoogleRequest,
    response=ConnectResponse,
    status=201,
    also_ok=(200,),  # a rotation
    errors=_CONNECT_ERRORS,
    tags=("connect",),
    sensitive=True,
)
def connect_google(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_as(ConnectGoogleRequest)
    key = body.service_account_key.get_secret_value()
    return _connect(ctx, ProviderName.GOOGLE, bundle(key, body.project_ids, body.billing_export_table))


@router.route(
    "DELETE",
    "/api/v1/enterprise/connect/{provider}",
    access=Access.ADMIN,
    summary="Disconnect a provider: destroy every stored version of its key; usage history is kept",
    response=DisconnectResponse,
    errors=(401, 403, 404, 503),
    tags=("connect",),
    sensitive=True,
)
def disconnect(ctx: RequestContext) -> DisconnectResponse:
    raw = ctx.request.path_params["provider"]
    provider = next((p for p in CONNECTABLE if p.value == raw), None)
    if provider is None:
        raise NotFound("no such provider", code="unknown_provider")
    deps = ctx.deps
    result = disconnect_provider(
        enterprises=deps.enterprises,
        connections=deps.provider_connections,
        secrets=deps.secrets,
        clock=deps.clock,
        enterprise_id=ctx.require_membership().enterprise_id,
        provider=provider,
        actor=_actor(ctx),
    )
    return DisconnectResponse.of(result)
