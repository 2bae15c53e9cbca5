"""Routes served by the ``connect`` function: connect, rotate and disconnect provider keys (OpenAI and Anthropic admin
keys, Google service-account keys with their projects and billing export).

It is the only public function that may write secrets (ADR 0001); it can never read one back. Every route is for
admins of the selected enterprise: viewers get 403 and everyone else 404, before a handler runs.
"""

from __future__ import annotations

from pydantic import SecretStr

from shared.api.provider_schemas import (
    AzureSetupResponse,
    BedrockSetupQuery,
    BedrockSetupResponse,
    ConnectAnthropicRequest,
    ConnectAzureRequest,
    ConnectBedrockRequest,
    ConnectGoogleRequest,
    ConnectOpenAIRequest,
    ConnectResponse,
    DisconnectResponse,
)
from shared.domain.connections import federation
from shared.domain.connections.provider_keys import CONNECTABLE
from shared.domain.enterprise.audit import Actor
from shared.domain.enterprise.model import ProviderName
from shared.domain.providers.azure import connection as azure_connection
from shared.domain.providers.bedrock import connection as bedrock_connection
from shared.domain.providers.bedrock.cur import CurExport
from shared.domain.providers.google.connection import bundle
from shared.errors import InvalidInput, NotFound
from shared.services.connections.connect_provider import ConnectProvider
from shared.services.connections.disconnect_provider import disconnect_provider
from shared.services.enterprise import quotas
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
    "GET",
    "/api/v1/enterprise/connect/bedrock/setup",
    access=Access.ADMIN,
    summary=(
        "What to create in the AWS account before connecting Amazon Bedrock: this enterprise's external id, the "
        "IAM role's trust policy (web identity federation from the platform's Google identity) and its "
        "least-privilege permissions policy"
    ),
    response=BedrockSetupResponse,
    query=BedrockSetupQuery,
    errors=(400, 401, 403, 404),
    tags=("connect",),
)
def bedrock_setup(ctx: RequestContext) -> BedrockSetupResponse:
    settings = ctx.deps.settings
    query = ctx.query_as(BedrockSetupQuery)
    cur = None
    if query.cur_bucket and query.cur_path:  # the region does not enter the policy
        cur = CurExport(bucket=query.cur_bucket, path=query.cur_path, region="us-east-1")
    external_id = federation.external_id_for(settings.project_id, ctx.require_membership().enterprise_id)
    subjects = list(settings.aws_federation_subjects)
    subject: str | list[str] = subjects[0] if len(subjects) == 1 else subjects
    return BedrockSetupResponse(
        external_id=external_id,
        identity_provider=bedrock_connection.WEB_IDENTITY_PROVIDER,
        platform_subjects=subjects,
        trust_policy=bedrock_connection.trust_policy(external_id, subject),
        permissions_policy=bedrock_connection.permissions_policy(cur=cur),
    )


@router.route(
    "POST",
    "/api/v1/enterprise/connect/bedrock",
    access=Access.ADMIN,
    summary=(
        "Connect Amazon Bedrock with the IAM role made from the setup route (or, as a fallback, an access key), the "
        "regions to read and whether Cost Explorer gives billed cost, or rotate them; the first connection starts "
        "the history backfill"
    ),
    body=ConnectBedrockRequest,
    response=ConnectResponse,
    status=201,
    also_ok=(200,),  # a rotation
    errors=_CONNECT_ERRORS,
    tags=("connect",),
)
def connect_bedrock(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_as(ConnectBedrockRequest)
    enterprise_id = ctx.require_membership().enterprise_id
    external_id = federation.external_id_for(ctx.deps.settings.project_id, enterprise_id)
    if body.external_id is not None and body.external_id.strip() != external_id:
        raise InvalidInput(
            "external_id is not this enterprise's: copy the trust policy from GET "
            "/api/v1/enterprise/connect/bedrock/setup of this enterprise into the role",
            code="aws_external_id_mismatch",
        )
    key = bedrock_connection.bundle(
        external_id=external_id,
        regions=body.regions,
        cost_explorer=body.cost_explorer,
        role_arn=body.role_arn,
        access_key_id=body.access_key_id,
        secret_access_key=body.secret_access_key,
        cur=CurExport(**body.cur.model_dump()) if body.cur is not None else None,
    )
    return _connect(ctx, ProviderName.BEDROCK, key)


@router.route(
    "GET",
    "/api/v1/enterprise/connect/azure/setup",
    access=Access.ADMIN,
    summary=(
        "What to create before connecting Azure OpenAI: the federated credentials to add to an Entra ID app "
        "registration (workload identity federation from the platform's Google identity, audience this "
        "enterprise's external id) and the read-only role assignments its service principal needs"
    ),
    response=AzureSetupResponse,
    errors=(401, 403, 404),
    tags=("connect",),
)
def azure_setup(ctx: RequestContext) -> AzureSetupResponse:
    settings = ctx.deps.settings
    external_id = federation.external_id_for(settings.project_id, ctx.require_membership().enterprise_id)
    return AzureSetupResponse(
        external_id=external_id,
        federated_credentials=[
            azure_connection.federated_credential(external_id, subject, n)
            for n, subject in enumerate(settings.aws_federation_subjects)
        ],
        role_assignments=azure_connection.role_assignments(),
    )


@router.route(
    "POST",
    "/api/v1/enterprise/connect/azure",
    access=Access.ADMIN,
    summary=(
        "Connect Azure OpenAI with the app registration made from the setup route (or, as a fallback, its client "
        "secret), the accounts to read and whether Cost Management gives billed cost, or rotate them; the first "
        "connection starts the history backfill"
    ),
    body=ConnectAzureRequest,
    response=ConnectResponse,
    status=201,
    also_ok=(200,),  # a rotation
    errors=_CONNECT_ERRORS,
    tags=("connect",),
)
def connect_azure(ctx: RequestContext) -> ApiResponse:
    body = ctx.body_as(ConnectAzureRequest)
    enterprise_id = ctx.require_membership().enterprise_id
    key = azure_connection.bundle(
        external_id=federation.external_id_for(ctx.deps.settings.project_id, enterprise_id),
        tenant_id=body.tenant_id,
        client_id=body.client_id,
        accounts=body.accounts,
        cost_management=body.cost_management,
        client_secret=body.client_secret,
    )
    return _connect(ctx, ProviderName.AZURE, key)


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
