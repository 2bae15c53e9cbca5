"""Google's refusals → the platform's errors, each with its own stable ``code`` and a hint written from our own data.

Google says why it refused in the body (cloud.google.com/apis/design/errors): ``error.details[]`` holds a
``google.rpc.ErrorInfo`` whose ``reason`` is machine-readable, and BigQuery's v2 API also keeps its legacy
``error.errors[].reason``. The OAuth token endpoint answers RFC 6749 §5.2 bodies (``{"error": "invalid_grant"}``).

=============================  =================================================  ==============================
code                           Google's answer                                    error class (what it means)
=============================  =================================================  ==============================
``provider_key_invalid``       token 400 ``invalid_grant`` (key deleted or        ``ProviderAuthError`` (the
                               disabled, signature not the key's), token 401      key: connect a new one)
``google_token_refused``       token 400 anything else (``invalid_scope``,        ``ProviderResponseError`` (the
                               ``invalid_request``, ``unauthorized_client``...)   platform's request, not the key)
``google_clock_skew``          token 400 ``invalid_grant`` about iat/exp          ``ProviderUnavailable`` (our
                                                                                  clock; retried later)
``google_scope_insufficient``  403 ``ACCESS_TOKEN_SCOPE_INSUFFICIENT``            ``ProviderResponseError`` (the
                                                                                  platform's scopes, not the key)
``google_api_disabled``        403 ``SERVICE_DISABLED`` / ``accessNotConfigured``  ``ProviderPermissionError``
``google_project_not_found``   Monitoring 404                                     ``ProviderPermissionError``
``provider_key_missing_scopes`` Monitoring 403 (IAM)                              ``ProviderPermissionError``
``billing_export_unreadable``  BigQuery 403 (IAM)                                 ``BillingExportUnreadable``
``billing_export_not_found``   BigQuery 404                                       ``BillingExportUnreadable``
``billing_export_invalid``     BigQuery 400 (the query does not fit the table)    ``BillingExportUnreadable``
=============================  =================================================  ==============================

Google's own text stays in the message (redacted by ``provider_http``); the hint never quotes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.adapters.provider_http import Explain
from shared.domain.providers.google.connection import BillingTable
from shared.domain.usage.records import Provider
from shared.errors import (
    BillingExportUnreadable,
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    ProviderResponseError,
    ProviderUnavailable,
)

G = Provider.GOOGLE.value
MONITORING_ROLE = "roles/monitoring.viewer"
BILLING_ROLES = "roles/bigquery.dataViewer on the dataset and roles/bigquery.jobUser on its project"
_CLOCK_WORDS = ("timeframe", "short-lived", "iat and exp")
"""Words of Google's invalid_grant for an assertion whose times it refuses (our clock), not for a bad key."""


def reasons(body: Any) -> set[str]:
    """Every machine-readable reason in a Google error body (ErrorInfo ``reason`` and legacy ``errors[].reason``)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return set()
    found: set[str] = set()
    for key in ("details", "errors"):
        items = error.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping) and isinstance(item.get("reason"), str):
                found.add(item["reason"])
    return found


def _common(body: Any, message: str, service: str, project: str) -> ProviderError | None:
    """A refusal that means the same on every Google API: a missing OAuth scope, a disabled API."""
    found = reasons(body)
    if "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in found or "insufficientPermissions" in found:
        hint = "the platform's access token lacks an OAuth scope for this call: nothing to change on your side"
        return ProviderResponseError(message, provider=G, code="google_scope_insufficient", hint=hint)
    if "SERVICE_DISABLED" in found or "accessNotConfigured" in found:
        hint = f"enable the {service} API (APIs & Services → Library) in project {project}"
        return ProviderPermissionError(message, provider=G, code="google_api_disabled", hint=hint)
    return None


def monitoring(project_id: str) -> Explain:
    """Cloud Monitoring ``timeSeries.list`` on ``project_id``."""

    def explain(status: int, body: Any, message: str) -> ProviderError | None:
        if status == 403 and (common := _common(body, message, "Cloud Monitoring", project_id)):
            return common
        if status == 403:
            hint = f"grant the service account {MONITORING_ROLE} on project {project_id}"
            return ProviderPermissionError(message, provider=G, hint=hint)
        if status == 404:
            hint = f"check the project id {project_id}: Google knows no such project"
            return ProviderPermissionError(message, provider=G, code="google_project_not_found", hint=hint)
        return None

    return explain


def bigquery(table: BillingTable) -> Explain:
    """BigQuery ``jobs.query`` / ``getQueryResults`` of the billing export ``table``, run in its project."""

    def explain(status: int, body: Any, message: str) -> ProviderError | None:
        if status == 403 and (common := _common(body, message, "BigQuery", table.project)):
            return common
        if status == 403:
            hint = f"grant the service account {BILLING_ROLES}"
            return BillingExportUnreadable(message, provider=G, hint=hint)
        if status == 404:
            hint = f"check the table name {table.name}: it was not found"
            return BillingExportUnreadable(message, provider=G, code="billing_export_not_found", hint=hint)
        if status == 400:
            hint = f"{table.name} must be a Cloud Billing standard usage cost export table (or a view over one)"
            return BillingExportUnreadable(message, provider=G, code="billing_export_invalid", hint=hint)
        return None

    return explain


def token(status: int, body: Any, message: str) -> ProviderError | None:
    """The OAuth token endpoint: only a refused grant means the key itself is bad."""
    error = body.get("error") if isinstance(body, Mapping) else None
    description = str(body.get("error_description") or "") if isinstance(body, Mapping) else ""
    if status == 401:
        hint = "the service account is disabled or deleted: enable it, or connect a key of another service account"
        return ProviderAuthError(message, provider=G, hint=hint)
    if status != 400:
        return None
    if error == "invalid_grant" and any(w in description.lower() for w in _CLOCK_WORDS):
        return ProviderUnavailable(message, provider=G, code="google_clock_skew")
    if error == "invalid_grant":
        hint = "the key was deleted or disabled: create a new JSON key for the service account and connect it"
        return ProviderAuthError(message, provider=G, hint=hint)
    hint = "Google refused the platform's token request; the key was not judged: try again later"
    return ProviderResponseError(message, provider=G, code="google_token_refused", hint=hint)
