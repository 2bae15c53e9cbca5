"""AWS refusals → the platform's errors, each with its own stable ``code`` and a hint written from our own data.

AWS says why it refused in the error's code: the JSON protocols (CloudWatch, Cost Explorer) send
``{"__type": "<namespace>#<Code>", "message": "…"}`` (some services spell it ``Message``), STS's query protocol an
XML ``<Error><Code>``. Codes are documented per operation (API reference "Errors" and "Common Errors" pages).

====================================  ====================================================  ==========================
code                                  AWS's answer                                          error class
====================================  ====================================================  ==========================
``aws_role_not_assumable``            STS ``AccessDenied`` (no such role, or its trust      ``ProviderAuthError``
                                      policy refuses our identity or this enterprise's
                                      external id: AWS does not say which)
``aws_identity_token_refused``        STS ``InvalidIdentityToken`` / ``IDPRejectedClaim``   ``ProviderResponseError``
                                      (the platform's token, not the customer's setup)
``aws_sts_region_disabled``           STS ``RegionDisabledException``                       ``ProviderPermissionError``
``provider_key_invalid``              ``InvalidClientTokenId`` / ``UnrecognizedClient…``    ``ProviderAuthError``
                                      (the fallback access key was deleted or disabled)
``aws_missing_permission``            ``AccessDenied[Exception]`` from CloudWatch or Cost    ``ProviderPermissionError``
                                      Explorer: the role lacks an action of the policy
``aws_cost_explorer_not_enabled``     Cost Explorer ``AccessDeniedException`` "not enabled  ``ProviderPermissionError``
                                      for cost explorer access"
``provider_rate_limited``             ``Throttling[Exception]``, ``LimitExceededException``  ``ProviderRateLimited``
``provider_unavailable``              ``ExpiredToken…`` (our session outlived), Cost         ``ProviderUnavailable``
                                      Explorer ``DataUnavailableException``
====================================  ====================================================  ==========================

AWS's own text stays in the message (redacted by ``provider_http``); the hint never quotes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)

B = "bedrock"
SETUP = "GET /api/v1/enterprise/connect/bedrock/setup"
_PERMISSION = "attach the permissions policy from " + SETUP + " to the role"


def error_code(body: Any) -> str:
    """The error code of a JSON-protocol error body, without its namespace (``…#AccessDeniedException``)."""
    if not isinstance(body, Mapping):
        return ""
    raw = str(body.get("__type") or body.get("code") or body.get("Code") or "")
    return raw.rsplit("#", 1)[-1].split(":", 1)[0]


def error_message(body: Any) -> str:
    if not isinstance(body, Mapping):
        return ""
    return str(body.get("message") or body.get("Message") or "")


def sts_error(code: str, message: str) -> ProviderError:
    """The error an ``AssumeRoleWithWebIdentity`` refusal stands for."""
    if code == "AccessDenied":
        hint = (
            "the role does not exist, or its trust policy does not trust the platform with this enterprise's "
            f"external id: create it (or paste its trust policy again) from {SETUP}"
        )
        return ProviderAuthError(message, provider=B, code="aws_role_not_assumable", hint=hint)
    if code in ("InvalidIdentityToken", "IDPRejectedClaim", "IDPCommunicationError"):
        return ProviderResponseError(
            message, provider=B, code="aws_identity_token_refused", hint="AWS refused the platform's identity token"
        )
    if code == "RegionDisabledException":
        hint = "AWS STS is deactivated in the account's region: activate it under IAM → Account settings"
        return ProviderPermissionError(message, provider=B, code="aws_sts_region_disabled", hint=hint)
    if code == "ExpiredTokenException":
        return ProviderUnavailable(message, provider=B)
    return ProviderResponseError(message, provider=B)


def api_error(service: str, action: str, code: str, text: str, message: str) -> ProviderError | None:
    """The error a CloudWatch or Cost Explorer refusal stands for; ``None``: the default status mapping."""
    if code in ("AccessDenied", "AccessDeniedException"):
        if service == "ce" and "not enabled" in text.lower():
            hint = "Cost Explorer is not enabled in the account: launch it once in the Billing console (data "
            hint += "appear within a day), or connect without cost_explorer to get list-price estimates"
            return ProviderPermissionError(message, provider=B, code="aws_cost_explorer_not_enabled", hint=hint)
        hint = f"the role may not call {action}: {_PERMISSION}"
        return ProviderPermissionError(message, provider=B, code="aws_missing_permission", hint=hint)
    if code in ("InvalidClientTokenId", "UnrecognizedClientException"):
        hint = "the access key was deleted or deactivated: create a new one, or connect a role instead"
        return ProviderAuthError(message, provider=B, code="provider_key_invalid", hint=hint)
    if code in ("Throttling", "ThrottlingException", "LimitExceededException", "RequestLimitExceeded"):
        return ProviderRateLimited(message, provider=B)
    if code in ("ExpiredToken", "ExpiredTokenException", "DataUnavailableException"):
        return ProviderUnavailable(message, provider=B)
    return None
