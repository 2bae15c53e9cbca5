"""Request and response models of connecting and disconnecting providers (the ``connect`` function).

Keys come in as ``SecretStr``: a validation error names the field, never the value, and a ``repr`` of a request
shows ``**********``. Responses carry our ``key_id``, never a key or a secret's resource name.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, StringConstraints

from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.domain.text import PLAIN_TEXT
from shared.domain.usage.records import CostSource
from shared.services.connections.connect_provider import ConnectResult, SyncStatus
from shared.services.connections.disconnect_provider import DisconnectResult

OpenAIOrgId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^org-[A-Za-z0-9]{1,64}$")]


class ConnectOpenAIRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admin_api_key: SecretStr
    """An OpenAI admin key (``sk-admin-...``) with read access to usage and costs."""
    org_id: OpenAIOrgId | None = None
    """The organisation's id (``org-...``): OpenAI does not tell admin keys which organisation they belong to."""


class ConnectAnthropicRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admin_api_key: SecretStr
    """An Anthropic admin key; the organisation is read from the Admin API."""


def _key_text(value: object) -> object:
    # The key may be sent as the JSON object Google's console downloads or as that JSON in a string; either way it
    # is held as a SecretStr from here on (a validation error names the field, never the value).
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return value


ServiceAccountKeyField = Annotated[SecretStr, BeforeValidator(_key_text)]


class ConnectGoogleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_account_key: ServiceAccountKeyField
    """The service account's JSON key (the object, or the JSON text). The account needs
    ``roles/monitoring.viewer`` on each project and, for billed costs, BigQuery Data Viewer on the billing export
    dataset and BigQuery Job User on its project. The key's ``token_uri`` is ignored."""
    project_ids: list[Annotated[str, StringConstraints(max_length=100), PLAIN_TEXT]] = Field(max_length=200)
    """The Google Cloud projects whose Gemini usage (Vertex AI, Gemini API) is read; at most 50."""
    billing_export_table: Annotated[str, StringConstraints(max_length=1100), PLAIN_TEXT] | None = None
    """``project.dataset.table`` of the Cloud Billing export (standard or detailed) or a view over it. Without it,
    Google costs are estimated at public list prices and labelled ``estimated``."""


class SyncView(BaseModel):
    status: SyncStatus
    backfill_days: int


AwsRegion = Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)]


class BedrockCurExport(BaseModel):
    """A CUR 2.0 Data Export (gzip/csv or Parquet) that gives Bedrock's billed cost instead of Cost Explorer."""

    model_config = ConfigDict(extra="forbid")

    bucket: Annotated[str, StringConstraints(strip_whitespace=True, max_length=63)]
    """The S3 bucket the export is delivered to."""
    path: Annotated[str, StringConstraints(strip_whitespace=True, max_length=512)]
    """The export's S3 prefix followed by its name, e.g. ``cur/bedrock-cur2`` (the folder holding ``data/`` and
    ``metadata/``)."""
    region: AwsRegion
    """The bucket's region."""


class BedrockSetupQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cur_bucket: Annotated[str, StringConstraints(strip_whitespace=True, max_length=63)] | None = None
    """With ``cur_path``: the permissions policy also lets the role read that CUR 2.0 export."""
    cur_path: Annotated[str, StringConstraints(strip_whitespace=True, max_length=512)] | None = None


class ConnectBedrockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role_arn: Annotated[str, StringConstraints(max_length=2048)] | None = None
    """The IAM role created with the trust and permissions policies of ``GET …/connect/bedrock/setup``
    (recommended: no AWS key is stored)."""
    external_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    """The external id pasted in the role's trust policy, if you want it checked against this enterprise's."""
    regions: list[AwsRegion] = Field(min_length=1, max_length=20)
    """The AWS regions where Bedrock is called, e.g. ``["us-east-1", "eu-central-1"]``."""
    cost_explorer: bool = True
    """Read billed cost from Cost Explorer (the role needs ``ce:GetCostAndUsage``); ``false``: list-price
    estimates labelled ``estimated``."""
    access_key_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    """Fallback when a role is not possible: an IAM user's access key with the same permissions."""
    secret_access_key: SecretStr | None = None
    cur: BedrockCurExport | None = None
    """A CUR 2.0 export to read billed cost from (instead of Cost Explorer); the role needs the S3 statements of
    ``GET …/connect/bedrock/setup?cur_bucket=…&cur_path=…``."""


class BedrockSetupResponse(BaseModel):
    """What the customer creates in its AWS account before connecting Bedrock (ADR 0022)."""

    external_id: str
    """This enterprise's external id: the audience of the identity tokens the platform presents to AWS STS."""
    identity_provider: str
    """The web identity provider to trust (``accounts.google.com``, built into AWS IAM)."""
    platform_subjects: list[str]
    """The platform's service accounts (numeric ids) that assume the role."""
    trust_policy: dict[str, Any]
    """The role's trust policy, to paste as it is."""
    permissions_policy: dict[str, Any]
    """The role's permissions policy (read-only CloudWatch metrics and Cost Explorer), to paste as it is."""


class ConnectAzureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: Annotated[str, StringConstraints(max_length=64)]
    """The Entra ID tenant (directory) id of the app registration."""
    client_id: Annotated[str, StringConstraints(max_length=64)]
    """The app registration's application (client) id, with the federated credential of ``GET …/connect/azure/setup``
    (recommended: no secret is stored)."""
    accounts: list[Annotated[str, StringConstraints(strip_whitespace=True, max_length=400)]] = Field(
        min_length=1, max_length=20
    )
    """Resource ids of the Azure OpenAI (Cognitive Services) accounts of one subscription, e.g.
    ``/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>``."""
    cost_management: bool = True
    """Read billed cost from Cost Management (the app needs Cost Management Reader on the subscription);
    ``false``: list-price estimates labelled ``estimated``."""
    client_secret: SecretStr | None = None
    """Fallback when a federated credential is not possible: a client secret of the same app."""


class AzureSetupResponse(BaseModel):
    """What the customer creates in Entra ID and Azure before connecting Azure OpenAI (ADR 0023)."""

    external_id: str
    """This enterprise's external id: the audience of the Google ID tokens the platform presents to Entra ID."""
    federated_credentials: list[dict[str, Any]]
    """The federated credentials to add to the app registration (one per platform identity), as they are."""
    role_assignments: list[dict[str, str]]
    """The built-in roles to assign to the app's service principal, with their scope and why."""


class ConnectResponse(BaseModel):
    success: Literal[True] = True
    provider: ProviderName
    org_id: str | None
    org_name: str | None
    key_id: str
    """Our reference for the stored key; it reveals nothing about the key."""
    permissions: list[str]
    rotated: bool
    """True when this key replaced a connected one (the old one is disabled)."""
    status: ProviderStatus
    sync: SyncView
    service_account_email: str | None = None
    """Google: the connected service account."""
    project_ids: list[str] | None = None
    """Google: the projects whose Gemini usage is read; Azure OpenAI: the accounts."""
    billing_export_connected: bool | None = None
    """Google: whether a billing export was connected; Azure OpenAI: whether Cost Management was."""
    role_arn: str | None = None
    """Bedrock: the IAM role assumed (``null`` with an access key)."""
    aws_regions: list[str] | None = None
    """Bedrock: the regions whose usage is read."""
    cost_source: CostSource | None = None
    """Google, Bedrock and Azure OpenAI: ``billed`` (billing export, Cost Explorer, Cost Management) or
    ``estimated`` (list prices); ``null`` for the others, whose costs are always billed."""

    @classmethod
    def of(cls, result: ConnectResult) -> ConnectResponse:
        state = result.state
        assert state.key_id is not None
        google = result.provider is ProviderName.GOOGLE
        bedrock = result.provider is ProviderName.BEDROCK
        azure = result.provider is ProviderName.AZURE
        billed = bool(state.cost_explorer_connected if bedrock else state.billing_export_connected)
        return cls(
            provider=result.provider,
            org_id=state.org_id,
            org_name=state.org_name,
            key_id=state.key_id,
            permissions=state.permissions,
            rotated=result.rotated,
            status=state.status,
            sync=SyncView(status=result.sync.status, backfill_days=result.sync.backfill_days),
            service_account_email=state.service_account_email,
            project_ids=state.project_ids,
            billing_export_connected=state.billing_export_connected,
            role_arn=state.role_arn,
            aws_regions=state.aws_regions,
            cost_source=(CostSource.BILLED if billed else CostSource.ESTIMATED) if google or bedrock or azure else None,
        )


class DisconnectResponse(BaseModel):
    success: Literal[True] = True
    provider: ProviderName
    status: Literal[ProviderStatus.DISCONNECTED] = ProviderStatus.DISCONNECTED
    destroyed_versions: int
    """Stored key versions destroyed by this request (0 when it repeats an earlier disconnect)."""

    @classmethod
    def of(cls, result: DisconnectResult) -> DisconnectResponse:
        return cls(provider=result.provider, destroyed_versions=result.destroyed_versions)
