"""Errors to HTTP, in one place: RFC 9457 problem details with a stable ``code``.

Retries are the reason this mapping matters: a transient failure answers 503 so Cloud Tasks (and browsers) retry
with backoff; a permanent one answers 4xx; a bug answers 500 without detail.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field, ValidationError

from shared.errors import (
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    NotAcceptable,
    NotFound,
    PlatformError,
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
    QuotaExceeded,
    Unauthenticated,
    ValidationFailed,
)
from shared.log import redact
from shared.web.http import ApiResponse

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    """Where: ``body.<path>`` or ``query.<name>``."""
    reason: str


class ProblemDetails(BaseModel):
    """Every error response: RFC 9457 problem details with a stable ``code`` (published in the OpenAPI document)."""

    type: str
    title: str
    status: int
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Stable, snake_case, part of the public API: clients branch on it, never on ``detail``."""
    detail: str
    errors: list[FieldProblem] | None = None
    """Validation errors: one per invalid field."""
    provider: str | None = None
    """Provider errors: which provider answered."""


_STATUS: list[tuple[type[PlatformError], int, str]] = [
    (ValidationFailed, 400, "Invalid request"),
    (InvalidInput, 400, "Invalid request"),
    (Unauthenticated, 401, "Authentication required"),
    (Forbidden, 403, "Forbidden"),
    (NotFound, 404, "Not found"),
    (NotAcceptable, 406, "Not acceptable"),
    (Conflict, 409, "Conflict"),
    (QuotaExceeded, 429, "Too many requests"),
    (ProviderAuthError, 400, "Provider rejected the key"),
    (ProviderPermissionError, 400, "Provider key lacks permissions"),
    (ProviderRateLimited, 503, "Provider rate limited"),
    (ProviderUnavailable, 503, "Provider unavailable"),
    (ProviderResponseError, 502, "Provider response not understood"),
    (ProviderError, 502, "Provider error"),
    (DependencyUnavailable, 503, "Service temporarily unavailable"),
]


def status_for(error: PlatformError) -> tuple[int, str]:
    for cls, status, title in _STATUS:
        if isinstance(error, cls):
            return status, title
    return 500, "Internal error"


def problem(status: int, title: str, code: str, detail: str, **extra: object) -> ApiResponse:
    body: dict[str, object] = {
        "type": f"https://docs.usage-tracking.dev/errors/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": redact(detail),
    }
    body.update(extra)
    response = ApiResponse.json(body, status=status, content_type=PROBLEM_JSON)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if status == 503:
        response.headers["Retry-After"] = "30"
    return response


def from_error(error: PlatformError) -> ApiResponse:
    status, title = status_for(error)
    extra: dict[str, object] = {}
    if isinstance(error, ValidationFailed):
        extra["errors"] = [{"field": k, "reason": v} for k, v in sorted(error.fields.items())]
    if isinstance(error, ProviderError):
        extra["provider"] = error.provider
    response = problem(status, title, error.code, error.message, **extra)
    if isinstance(error, QuotaExceeded):
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def validation_failed(error: ValidationError, *, location: str = "body") -> ValidationFailed:
    """A pydantic validation error on our input: which field and why, never the input value."""
    fields: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        path = ".".join(str(p) for p in item["loc"])
        name = f"{location}.{path}" if path else location
        fields[name] = f"{fields[name]}; {item['msg']}" if name in fields else item["msg"]
    return ValidationFailed("the request has invalid fields", fields)


def from_validation_error(error: ValidationError, *, location: str = "body") -> ApiResponse:
    return from_error(validation_failed(error, location=location))


def internal_error() -> ApiResponse:
    return problem(500, "Internal error", "internal_error", "an unexpected error occurred")
