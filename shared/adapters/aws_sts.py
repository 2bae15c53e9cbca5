"""AWS STS ``AssumeRoleWithWebIdentity``: a Google identity token of our service account → a one-hour session in
the customer's Bedrock role.

The query API (docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html): a form POST of
``Action``, ``Version=2011-06-15``, ``RoleArn``, ``RoleSessionName``, ``WebIdentityToken`` and ``DurationSeconds``,
not signed (the token is the credential). It answers XML: ``AssumeRoleWithWebIdentityResult`` with
``Credentials{AccessKeyId, SecretAccessKey, SessionToken, Expiration}`` and ``AssumedRoleUser{Arn}``, or an
``ErrorResponse`` whose ``Error/Code`` says why (``shared.adapters.aws_errors``).

The XML comes from the configured STS endpoint only; it is still parsed defensively: bounded size and no DTD.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

import httpx
from pydantic import SecretStr

from shared.adapters.aws_errors import B, sts_error
from shared.adapters.aws_sigv4 import AwsCredentials
from shared.errors import ProviderResponseError, ProviderUnavailable
from shared.log import redact

log = logging.getLogger(__name__)

SESSION_NAME = "usage-tracking"
SESSION_SECONDS = 3600
MAX_BODY = 64 * 1024
_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


@dataclass(frozen=True)
class RoleSession:
    credentials: AwsCredentials
    assumed_role_arn: str

    @property
    def account_id(self) -> str:
        """``arn:aws:sts::<account>:assumed-role/<role>/<session>`` → the account."""
        return self.assumed_role_arn.split(":")[4]


async def assume_role(http: httpx.AsyncClient, url: str, role_arn: str, token: SecretStr) -> RoleSession:
    """Assume ``role_arn`` with ``token``; raises the ``ProviderError`` AWS's answer stands for."""
    form = {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "RoleArn": role_arn,
        "RoleSessionName": SESSION_NAME,
        "WebIdentityToken": token.get_secret_value(),
        "DurationSeconds": str(SESSION_SECONDS),
    }
    try:
        response = await http.post(url, data=form)
    except httpx.RequestError as e:
        raise ProviderUnavailable(f"AWS STS could not be reached ({type(e).__name__})", provider=B) from e
    root = _xml(response)
    if response.status_code != 200:
        code = _text(root, "Error/Code") or ""
        message = redact(f"AWS STS returned {response.status_code} {code}: {_text(root, 'Error/Message') or ''}")
        if response.status_code >= 500 or code in ("Throttling", "ServiceUnavailable", "InternalFailure"):
            raise ProviderUnavailable(message[:300], provider=B)
        raise sts_error(code, message[:300])
    result = "AssumeRoleWithWebIdentityResult/"
    try:
        credentials = AwsCredentials(
            access_key_id=_required(root, result + "Credentials/AccessKeyId"),
            secret_access_key=SecretStr(_required(root, result + "Credentials/SecretAccessKey")),
            session_token=SecretStr(_required(root, result + "Credentials/SessionToken")),
            expiration=datetime.fromisoformat(_required(root, result + "Credentials/Expiration")),
        )
        return RoleSession(credentials, _required(root, result + "AssumedRoleUser/Arn"))
    except ValueError as e:
        raise ProviderResponseError("AWS STS sent credentials the platform cannot read", provider=B) from e


def _xml(response: httpx.Response) -> ET.Element:
    body = response.content
    if len(body) > MAX_BODY or b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ProviderResponseError("AWS STS sent an unexpected body", provider=B)
    try:
        return ET.fromstring(body)  # noqa: S314 - see _xml's guard above
    except ET.ParseError as e:
        if response.status_code >= 500:
            raise ProviderUnavailable(f"AWS STS returned {response.status_code}", provider=B) from e
        raise ProviderResponseError("AWS STS sent a body that is not XML", provider=B) from e


def _text(root: ET.Element, path: str) -> str | None:
    # Namespaced as documented; tolerate a response without the namespace.
    for candidate in (path, "/".join(_NS + p for p in path.split("/"))):
        node = root.find(candidate)
        if node is not None and node.text:
            return node.text.strip()
    return None


def _required(root: ET.Element, path: str) -> str:
    value = _text(root, path)
    if not value:
        raise ValueError(f"missing {path}")
    return value
