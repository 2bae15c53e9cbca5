"""Azure refusals → the platform's errors, each with its own stable ``code`` and a hint written from our own data.

Entra ID's token endpoint answers ``{"error": "invalid_client", "error_description": "AADSTS70021: …",
"error_codes": [70021], …}`` (Microsoft identity platform, "OAuth 2.0 client credentials flow", error response, and
"AADSTS error codes"). Azure Resource Manager, Azure Monitor and Cost Management answer
``{"error": {"code": "AuthorizationFailed", "message": "…"}}`` (ARM "Common error responses").

=====================================  ====================================================  =========================
code                                   Azure's answer                                        error class
=====================================  ====================================================  =========================
``azure_federation_refused``           AADSTS70021 / 700211 / 700212 / 700213: no federated  ``ProviderAuthError``
                                       credential matches our issuer, subject or audience
``provider_key_invalid``               AADSTS7000215 / 7000222: client secret wrong/expired  ``ProviderAuthError``
``azure_app_not_found``                AADSTS700016 (app) / 90002 (tenant) not found         ``ProviderAuthError``
``azure_missing_role``                 403 ``AuthorizationFailed`` / ``RBACAccessDenied``    ``ProviderPermissionError``
``azure_account_not_found``            404 ``ResourceNotFound``, ``ResourceGroupNotFound``,  ``ProviderPermissionError``
                                       ``SubscriptionNotFound``
``azure_cost_management_unavailable``  Cost Management ``SubscriptionTypeNotSupported``,    ``ProviderPermissionError``
                                       ``AccountCostDisabled`` (EA hides charges)
``provider_rate_limited``              429 (default mapping, honouring ``Retry-After``)       ``ProviderRateLimited``
=====================================  ====================================================  =========================

Azure's own text stays in the message (redacted by ``provider_http``); the hint never quotes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import ProviderAuthError, ProviderError, ProviderPermissionError, ProviderResponseError

A = "azure"
SETUP = "GET /api/v1/enterprise/connect/azure/setup"
_FEDERATION = (70021, 700211, 700212, 700213)
_SECRET = (7000215, 7000222, 7000216)
_NOT_FOUND = (700016, 90002, 900023)
_COST_UNAVAILABLE = ("SubscriptionTypeNotSupported", "AccountCostDisabled", "IndirectCostDisabled")
"""Cost Management's codes for a scope whose cost it cannot show ("Troubleshoot common Cost Management errors")."""


def token_error(status: int, body: Any, message: str) -> ProviderError | None:
    """The error an Entra ID token refusal stands for; ``None``: the default status mapping (429, 5xx)."""
    if status == 429 or status >= 500 or not isinstance(body, Mapping):
        return None
    codes = {int(c) for c in body.get("error_codes") or [] if isinstance(c, int)}
    if codes & set(_FEDERATION):
        hint = (
            "the app registration has no federated credential that trusts the platform for this enterprise: add "
            f"the one {SETUP} shows (issuer, subject and audience exactly as given)"
        )
        return ProviderAuthError(message, provider=A, code="azure_federation_refused", hint=hint)
    if codes & set(_SECRET):
        hint = "the client secret is wrong or expired: create a new one, or use the federated credential instead"
        return ProviderAuthError(message, provider=A, code="provider_key_invalid", hint=hint)
    if codes & set(_NOT_FOUND):
        hint = "no such app registration in this tenant: check tenant_id and client_id (the app's Application id)"
        return ProviderAuthError(message, provider=A, code="azure_app_not_found", hint=hint)
    if str(body.get("error")) in ("invalid_client", "unauthorized_client"):
        return ProviderAuthError(message, provider=A, code="provider_key_invalid", hint="Entra ID refused the app")
    return ProviderResponseError(message, provider=A)


def arm_error(status: int, body: Any, message: str, *, role: str, what: str) -> ProviderError | None:
    """The error a management-plane refusal stands for (``role`` the role that grants ``what``)."""
    code = ""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        code = str(body["error"].get("code") or "")
    if status in (400, 401, 403, 422) and code in _COST_UNAVAILABLE:
        hint = (
            "Cost Management cannot show this subscription's cost (its offer type is not supported, or the "
            "Enterprise Agreement hides charges from account owners): connect without cost_management for estimates"
        )
        return ProviderPermissionError(message, provider=A, code="azure_cost_management_unavailable", hint=hint)
    if status == 403 and code in ("AuthorizationFailed", "RBACAccessDenied", "LinkedAuthorizationFailed", ""):
        hint = f"assign the service principal the {role} role ({SETUP} lists the assignments) so it may read {what}"
        return ProviderPermissionError(message, provider=A, code="azure_missing_role", hint=hint)
    if status == 404 and code.endswith("NotFound"):
        hint = "an Azure OpenAI account (or its resource group or subscription) was not found: check the resource ids"
        return ProviderPermissionError(message, provider=A, code="azure_account_not_found", hint=hint)
    if status == 401:  # our token: expired or for the wrong audience; a retry with a new token may pass
        return ProviderResponseError(message, provider=A, code="azure_token_refused")
    return None
