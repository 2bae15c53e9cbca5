"""The platform's exception tree.

Every error a caller can act on carries a stable ``code`` (snake_case, part of the public API) and a message that
is safe to show to a user: it never contains a provider key or any other secret.

    PlatformError
    ├── InvalidInput               bad request data (400)
    │   └── ValidationFailed       field-level errors, with ``fields``
    ├── Unauthenticated            no/invalid credentials (401)
    ├── Forbidden                  authenticated but not allowed (403)
    ├── NotFound                   missing, or not visible to the caller (404)
    ├── NotAcceptable              no representation the caller accepts (406)
    ├── Conflict                   state forbids the change (409)
    ├── QuotaExceeded              a per-user or per-enterprise quota is used up (429, ``retry_after_s``)
    ├── ProviderError              anything from an LLM provider
    │   ├── ProviderAuthError      key invalid or revoked (permanent)
    │   ├── ProviderPermissionError key lacks scopes / not an admin key (permanent)
    │   │   └── BillingExportUnreadable  Google: the Cloud Billing export table cannot be read (permanent)
    │   ├── ProviderRateLimited    429 after our bounded retries (transient)
    │   ├── ProviderUnavailable    5xx, 529, timeouts, connection errors (transient)
    │   └── ProviderResponseError  a response we cannot parse (permanent for that request)
    └── DependencyUnavailable      one of our own backends (Firestore, Secret Manager, Tasks) failed (transient)

Mapping to HTTP status codes happens in exactly one place, ``shared.web.problems``.
"""

from __future__ import annotations

from collections.abc import Mapping


class PlatformError(Exception):
    """Base class: an error with a stable code and a user-safe message."""

    code: str = "internal_error"
    transient: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(PlatformError):
    code = "invalid_input"


class ValidationFailed(InvalidInput):
    """Request data failed validation; ``fields`` maps a dotted field path to the reason."""

    code = "validation_failed"

    def __init__(self, message: str, fields: Mapping[str, str], *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.fields = dict(fields)


class Unauthenticated(PlatformError):
    code = "unauthenticated"


class Forbidden(PlatformError):
    code = "forbidden"


class NotFound(PlatformError):
    code = "not_found"


class NotAcceptable(PlatformError):
    code = "not_acceptable"


class Conflict(PlatformError):
    code = "conflict"


class QuotaExceeded(PlatformError):
    """A quota (``shared.services.enterprise.quotas``) is used up until ``retry_after_s`` seconds from now."""

    code = "quota_exceeded"

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = max(1, retry_after_s)


class ProviderError(PlatformError):
    """An error talking to an LLM provider. ``provider`` is ``openai``, ``anthropic`` or ``google``.

    ``hint`` tells the user what to fix (e.g. which Google project lacks which role). It is written by our code from
    our own data, never from the provider's error text, so it can be shown as is.
    """

    code = "provider_error"

    def __init__(self, message: str, *, provider: str, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, code=code)
        self.provider = provider
        self.hint = hint


class ProviderAuthError(ProviderError):
    code = "provider_key_invalid"


class ProviderPermissionError(ProviderError):
    code = "provider_key_missing_scopes"


class BillingExportUnreadable(ProviderPermissionError):
    """The service account cannot query the Cloud Billing export table (missing, no access, not an export)."""

    code = "billing_export_unreadable"


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"
    transient = True

    def __init__(self, message: str, *, provider: str, retry_after_s: float | None = None) -> None:
        super().__init__(message, provider=provider)
        self.retry_after_s = retry_after_s


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    transient = True


class ProviderResponseError(ProviderError):
    code = "provider_malformed_response"


class DependencyUnavailable(PlatformError):
    code = "dependency_unavailable"
    transient = True
