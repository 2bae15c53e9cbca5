"""An Amazon Bedrock connection: a cross-account IAM role (or, as a fallback, an access key), the regions whose
Bedrock usage is read, and whether Cost Explorer gives billed cost.

The platform never asks for a long-lived AWS key when it can avoid one (ADR 0022). The enterprise creates a role in its
account whose trust policy lets *the platform's sync identity* assume it through web identity federation:
``sts:AssumeRoleWithWebIdentity`` with a Google-signed OIDC identity token of the sync's service account. The trust
policy pins three claims (AWS maps them for the built-in ``accounts.google.com`` provider): ``accounts.google.com:aud``
(the token's ``azp``, our service account's numeric id), ``accounts.google.com:sub`` (the same id) and
``accounts.google.com:oaud`` (the token's ``aud``), which is the enterprise's **external id**. The platform derives the
external id from the enterprise (``federation.external_id_for``) and always asks for a token with that audience, so
another enterprise of the platform that pastes someone else's role ARN gets a token the role refuses: AWS's
confused-deputy defence, with the audience playing the part ``ExternalId`` plays for ``AssumeRole``.

Stored as one Secret Manager version of canonical JSON (``BedrockConnection.to_secret``). Checked before any
network call, with stable codes and messages that never quote a key:

* ``invalid_role_arn``: not ``arn:aws:iam::<12 digits>:role/<name>``;
* ``invalid_aws_regions``: none, too many, duplicates, or not an AWS region code;
* ``malformed_key``: an access key id that is not ``AKIA`` + 16 characters, or a secret that is not 40 characters;
* ``invalid_aws_credentials``: both a role and an access key, or neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from shared.domain.providers.bedrock.cur import CurExport
from shared.errors import InvalidInput

MAX_REGIONS = 20
MAX_SECRET_CHARS = 4_096
WEB_IDENTITY_PROVIDER = "accounts.google.com"
READ_ACTIONS = {
    "cloudwatch": ("cloudwatch:GetMetricData", "cloudwatch:ListMetrics"),
    "catalogue": ("bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles"),
    "cost_explorer": ("ce:GetCostAndUsage", "ce:GetDimensionValues"),
}
"""Everything the platform calls, read-only. None of these actions supports resource-level permissions, so the
policy's ``Resource`` is ``*`` (Service Authorization Reference, CloudWatch, Amazon Bedrock and Cost Explorer). The
catalogue finds the models CloudWatch's ``ListMetrics`` no longer lists (two weeks after their last call)."""

_ROLE_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}")
_REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
_ACCESS_KEY_ID = re.compile(r"AKIA[A-Z0-9]{16}")
_SECRET_ACCESS_KEY = re.compile(r"[A-Za-z0-9/+]{40}")


class BedrockConnection(BaseModel):
    """What a Bedrock sync needs, as stored in Secret Manager."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = "bedrock"
    role_arn: str | None = None
    external_id: str
    """The audience of the identity tokens the platform presents for this enterprise (see the module docstring)."""
    regions: tuple[str, ...]
    cost_explorer: bool
    """Billed cost from Cost Explorer; ``False``: costs are list-price estimates, labelled ``estimated``."""
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    cur: CurExport | None = None
    """The customer's CUR 2.0 export: when set, billed cost comes from it instead of Cost Explorer."""

    @property
    def billed(self) -> bool:
        return self.cost_explorer or self.cur is not None

    def __repr__(self) -> str:
        return f"BedrockConnection(role_arn={self.role_arn!r}, regions={self.regions!r})"

    @property
    def account_id(self) -> str | None:
        """The AWS account of the role (the access-key fallback's account is known only once STS or a call says)."""
        match = _ROLE_ARN.fullmatch(self.role_arn or "")
        return match["account"] if match else None

    def to_secret(self) -> SecretStr:
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        if self.secret_access_key is not None:
            data["secret_access_key"] = self.secret_access_key.get_secret_value()
        return SecretStr(json.dumps(data, sort_keys=True, separators=(",", ":")))


def bundle(
    *,
    external_id: str,
    regions: Sequence[str],
    cost_explorer: bool,
    role_arn: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: SecretStr | None = None,
    cur: CurExport | None = None,
) -> SecretStr:
    """Check a connect request's parts and return the connection to store (raises ``InvalidInput``)."""
    has_role = bool(role_arn and role_arn.strip())
    has_key = bool(access_key_id or secret_access_key)
    if has_role == has_key:
        raise InvalidInput(
            "give either role_arn (recommended: the role whose trust policy GET /api/v1/enterprise/connect/bedrock/"
            "setup returns) or access_key_id with secret_access_key, not both",
            code="invalid_aws_credentials",
        )
    connection = BedrockConnection(
        role_arn=_role_arn(role_arn) if has_role else None,
        external_id=external_id,
        regions=parse_regions(regions),
        cost_explorer=cost_explorer,
        access_key_id=None if has_role else _access_key_id(access_key_id),
        secret_access_key=None if has_role else _secret(secret_access_key),
        cur=cur,
    )
    return connection.to_secret()


def parse_connection(secret: SecretStr) -> BedrockConnection:
    """The stored connection (as ``to_secret`` wrote it); raises ``InvalidInput`` (``malformed_key``) otherwise."""
    raw = secret.get_secret_value()
    if len(raw) > MAX_SECRET_CHARS:
        raise InvalidInput("this is not an Amazon Bedrock connection", code="malformed_key")
    try:
        return BedrockConnection.model_validate_json(raw)
    except ValueError as e:
        raise InvalidInput("this is not an Amazon Bedrock connection", code="malformed_key") from e


def parse_regions(raw: Sequence[str]) -> tuple[str, ...]:
    regions = tuple(r.strip() for r in raw)
    if not regions or len(regions) > MAX_REGIONS or len(set(regions)) != len(regions):
        raise InvalidInput(f"give 1 to {MAX_REGIONS} distinct AWS regions, e.g. us-east-1", code="invalid_aws_regions")
    if not all(_REGION.fullmatch(r) for r in regions):
        raise InvalidInput("regions must be AWS region codes such as us-east-1", code="invalid_aws_regions")
    return regions


def _role_arn(raw: str | None) -> str:
    value = (raw or "").strip()
    if not _ROLE_ARN.fullmatch(value):
        raise InvalidInput(
            "role_arn must be an IAM role ARN such as arn:aws:iam::123456789012:role/usage-tracking",
            code="invalid_role_arn",
        )
    return value


def _access_key_id(raw: str | None) -> str:
    value = (raw or "").strip()
    if not _ACCESS_KEY_ID.fullmatch(value):
        raise InvalidInput("this does not look like an AWS access key id (AKIA…)", code="malformed_key")
    return value


def _secret(raw: SecretStr | None) -> SecretStr:
    value = raw.get_secret_value().strip() if raw is not None else ""
    if not _SECRET_ACCESS_KEY.fullmatch(value):
        raise InvalidInput("this does not look like an AWS secret access key", code="malformed_key")
    return SecretStr(value)


def trust_policy(external_id: str, platform_subject: str | list[str]) -> dict[str, Any]:
    """The role's trust policy: only the platform's sync identity, presenting this enterprise's audience."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": WEB_IDENTITY_PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{WEB_IDENTITY_PROVIDER}:aud": platform_subject,
                        f"{WEB_IDENTITY_PROVIDER}:sub": platform_subject,
                        f"{WEB_IDENTITY_PROVIDER}:oaud": external_id,
                    }
                },
            }
        ],
    }


def permissions_policy(*, cost_explorer: bool = True, cur: CurExport | None = None) -> dict[str, Any]:
    """Least privilege: read CloudWatch metrics, Bedrock's model catalogue, (optionally) Cost Explorer and, with a
    CUR 2.0 export, list and read that export's folder only (S3 supports resource-level permissions)."""
    actions = [
        *READ_ACTIONS["cloudwatch"],
        *READ_ACTIONS["catalogue"],
        *(READ_ACTIONS["cost_explorer"] if cost_explorer else ()),
    ]
    statements: list[dict[str, Any]] = [
        {"Sid": "UsageTrackingRead", "Effect": "Allow", "Action": actions, "Resource": "*"}
    ]
    if cur is not None:
        statements += [
            {
                "Sid": "UsageTrackingCurList",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{cur.bucket}",
                "Condition": {"StringLike": {"s3:prefix": f"{cur.path}/*"}},
            },
            {
                "Sid": "UsageTrackingCurRead",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{cur.bucket}/{cur.path}/*",
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}
