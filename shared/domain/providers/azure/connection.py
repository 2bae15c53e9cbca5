"""An Azure OpenAI connection: a service principal (an Entra ID app registration), the Cognitive Services accounts
whose usage is read, and whether Cost Management gives billed cost.

The platform prefers no stored secret at all (ADR 0023). The customer adds a *federated credential* to its app
registration that trusts the platform's sync identity: issuer ``https://accounts.google.com``, subject our service
account's numeric id, and audience this enterprise's **external id** (``federation.external_id_for``, shared with
Bedrock). The sync then asks Entra ID for a token with ``client_assertion_type=…jwt-bearer`` and a Google-signed ID
token as the ``client_assertion``. Entra ID matches issuer, subject and audience exactly, so another enterprise of the
platform that names someone else's tenant and app gets a token whose audience that app does not trust: the
confused-deputy defence Bedrock gets from its external id. A client secret is the fallback.

Stored as one Secret Manager version of canonical JSON (``AzureConnection.to_secret``). Checked before any network
call, with stable codes and messages that never quote a secret:

* ``invalid_azure_tenant`` / ``invalid_azure_client``: not a GUID;
* ``invalid_azure_accounts``: none, too many, duplicates, not a Cognitive Services account resource id, or
  accounts of different subscriptions (the cost query has one subscription scope);
* ``malformed_key``: a client secret that is empty or implausibly long.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from shared.errors import InvalidInput

MAX_ACCOUNTS = 20
MAX_SECRET_CHARS = 4_096
GOOGLE_ISSUER = "https://accounts.google.com"
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
ROLES = {
    "Monitoring Reader": "Azure Monitor metrics of each account (Microsoft.Insights/metrics/read)",
    "Reader": "the accounts' deployments, to map each deployment to its model (Microsoft.CognitiveServices/…/read)",
    "Cost Management Reader": "billed cost (Microsoft.CostManagement/query/action), on the subscription",
}
"""Built-in Azure roles the service principal needs, and why (Azure built-in roles reference)."""

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_ACCOUNT = re.compile(
    r"/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/[-\w._()]{1,90}"
    r"/providers/Microsoft\.CognitiveServices/accounts/[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}",
    re.IGNORECASE,
)


class AzureConnection(BaseModel):
    """What an Azure OpenAI sync needs, as stored in Secret Manager."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = "azure"
    tenant_id: str
    client_id: str
    external_id: str
    """The audience of the Google ID tokens the platform presents for this enterprise (see the module docstring)."""
    accounts: tuple[str, ...]
    """Resource ids of the Cognitive Services (Azure OpenAI / AI Foundry) accounts."""
    cost_management: bool
    """Billed cost from Cost Management; ``False``: list-price estimates, labelled ``estimated``."""
    client_secret: SecretStr | None = None

    def __repr__(self) -> str:
        return f"AzureConnection(tenant_id={self.tenant_id!r}, accounts={self.accounts!r})"

    @property
    def subscription_id(self) -> str:
        match = _ACCOUNT.fullmatch(self.accounts[0])
        assert match is not None  # checked when bundled
        return match["sub"].lower()

    def to_secret(self) -> SecretStr:
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        if self.client_secret is not None:
            data["client_secret"] = self.client_secret.get_secret_value()
        return SecretStr(json.dumps(data, sort_keys=True, separators=(",", ":")))


def bundle(
    *,
    external_id: str,
    tenant_id: str,
    client_id: str,
    accounts: Sequence[str],
    cost_management: bool,
    client_secret: SecretStr | None = None,
) -> SecretStr:
    """Check a connect request's parts and return the connection to store (raises ``InvalidInput``)."""
    connection = AzureConnection(
        tenant_id=_guid(tenant_id, "tenant_id", "invalid_azure_tenant"),
        client_id=_guid(client_id, "client_id", "invalid_azure_client"),
        external_id=external_id,
        accounts=parse_accounts(accounts),
        cost_management=cost_management,
        client_secret=_secret(client_secret) if client_secret is not None else None,
    )
    return connection.to_secret()


def parse_connection(secret: SecretStr) -> AzureConnection:
    """The stored connection (as ``to_secret`` wrote it); raises ``InvalidInput`` (``malformed_key``) otherwise."""
    raw = secret.get_secret_value()
    if len(raw) > MAX_SECRET_CHARS:
        raise InvalidInput("this is not an Azure OpenAI connection", code="malformed_key")
    try:
        return AzureConnection.model_validate_json(raw)
    except ValueError as e:
        raise InvalidInput("this is not an Azure OpenAI connection", code="malformed_key") from e


def parse_accounts(raw: Sequence[str]) -> tuple[str, ...]:
    accounts = tuple(a.strip().rstrip("/") for a in raw)
    if not accounts or len(accounts) > MAX_ACCOUNTS or len({a.lower() for a in accounts}) != len(accounts):
        raise InvalidInput(
            f"give 1 to {MAX_ACCOUNTS} distinct Azure OpenAI account resource ids", code="invalid_azure_accounts"
        )
    matches = [_ACCOUNT.fullmatch(a) for a in accounts]
    if not all(matches):
        raise InvalidInput(
            "accounts must be resource ids such as /subscriptions/<id>/resourceGroups/<group>/providers/"
            "Microsoft.CognitiveServices/accounts/<name>",
            code="invalid_azure_accounts",
        )
    if len({m["sub"].lower() for m in matches if m}) != 1:
        raise InvalidInput("connect the accounts of one subscription at a time", code="invalid_azure_accounts")
    return accounts


def _guid(raw: str, field: str, code: str) -> str:
    value = (raw or "").strip()
    if not _GUID.fullmatch(value):
        raise InvalidInput(f"{field} must be a GUID such as 00000000-0000-0000-0000-000000000000", code=code)
    return value.lower()


def _secret(raw: SecretStr) -> SecretStr:
    value = raw.get_secret_value().strip()
    if not value or len(value) > 256 or any(c.isspace() for c in value):
        raise InvalidInput("this does not look like an Entra ID client secret", code="malformed_key")
    return SecretStr(value)


def federated_credential(external_id: str, platform_subject: str, n: int = 0) -> dict[str, Any]:
    """The federated identity credential to add to the app registration (Microsoft Graph ``federatedIdentityCredential``
    fields, as ``az ad app federated-credential create --parameters`` takes them)."""
    return {
        "name": f"usage-tracking-{n}",
        "issuer": GOOGLE_ISSUER,
        "subject": platform_subject,
        "audiences": [external_id],
        "description": "Enterprise Usage Tracking reads Azure OpenAI usage and cost",
    }


def role_assignments(accounts: Sequence[str] = ()) -> list[dict[str, str]]:
    """The role assignments to grant the app's service principal: read-only, on the accounts and subscription."""
    scope = "each Azure OpenAI account (or their resource group)"
    out = [
        {"role": "Monitoring Reader", "scope": scope, "why": ROLES["Monitoring Reader"]},
        {"role": "Reader", "scope": scope, "why": ROLES["Reader"]},
    ]
    subscription = "the subscription (only with cost_management)"
    if accounts:
        match = _ACCOUNT.fullmatch(accounts[0])
        subscription = f"/subscriptions/{match['sub']}" if match else subscription
    out.append({"role": "Cost Management Reader", "scope": subscription, "why": ROLES["Cost Management Reader"]})
    return out
