"""Google's error bodies, as its documentation and real answers write them, each become their own code and hint."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters import google_errors
from shared.domain.providers.google.connection import BillingTable
from shared.errors import BillingExportUnreadable, ProviderAuthError, ProviderPermissionError

TABLE = BillingTable(project="acme-finops", dataset="billing", table="gcp_billing_export_v1_X")


def _info(reason: str, **metadata: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"} | (
        {"metadata": metadata}
    )


SCOPE = {
    "error": {
        "code": 403,
        "message": "Request had insufficient authentication scopes.",
        "status": "PERMISSION_DENIED",
        "details": [_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", service="bigquery.googleapis.com")],
    }
}
"""cloud.google.com/apis/design/errors ("ErrorInfo" reasons); the shape every Google API answers a token whose
scopes do not cover the method with."""
DISABLED = {
    "error": {
        "code": 403,
        "message": "Cloud Monitoring API has not been used in project acme-prod-ai before or it is disabled.",
        "status": "PERMISSION_DENIED",
        "details": [_info("SERVICE_DISABLED", service="monitoring.googleapis.com", consumer="projects/acme-prod-ai")],
    }
}
IAM = {
    "error": {"code": 403, "message": "Permission monitoring.timeSeries.list denied.", "status": "PERMISSION_DENIED"}
}
LEGACY_BQ_DISABLED = {
    "error": {"code": 403, "message": "BigQuery API has not been used", "errors": [{"reason": "accessNotConfigured"}]}
}


@pytest.mark.parametrize(
    ("status", "body", "code", "error", "hint"),
    [
        (403, SCOPE, "google_scope_insufficient", None, "OAuth scope"),
        (403, DISABLED, "google_api_disabled", ProviderPermissionError, "Cloud Monitoring API"),
        (403, IAM, "provider_key_missing_scopes", ProviderPermissionError, "roles/monitoring.viewer"),
        (
            404,
            {"error": {"code": 404, "status": "NOT_FOUND"}},
            "google_project_not_found",
            ProviderPermissionError,
            "id",
        ),
    ],
    ids=["scope", "disabled", "iam", "not-found"],
)
def test_monitoring_refusals(status: int, body: Any, code: str, error: type[Exception] | None, hint: str) -> None:
    explained = google_errors.monitoring("acme-prod-ai")(status, body, "google returned ...")

    assert explained is not None
    assert explained.code == code
    assert hint in (explained.hint or "")
    assert "acme-prod-ai" in (explained.hint or "") or code == "google_scope_insufficient"
    if error is not None:
        assert isinstance(explained, error)
    else:  # a platform problem: not the customer's key, never a key failure
        assert not isinstance(explained, ProviderAuthError | ProviderPermissionError)


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (403, {"error": {"code": 403, "errors": [{"reason": "accessDenied"}]}}, "billing_export_unreadable"),
        (404, {"error": {"code": 404, "errors": [{"reason": "notFound"}]}}, "billing_export_not_found"),
        (400, {"error": {"code": 400, "errors": [{"reason": "invalidQuery"}]}}, "billing_export_invalid"),
        (403, LEGACY_BQ_DISABLED, "google_api_disabled"),
    ],
)
def test_bigquery_refusals(status: int, body: Any, code: str) -> None:
    """BigQuery's v2 errors keep the legacy ``errors[].reason`` (cloud.google.com/bigquery/docs/error-messages)."""
    explained = google_errors.bigquery(TABLE)(status, body, "google returned ...")

    assert explained is not None
    assert explained.code == code
    assert isinstance(explained, BillingExportUnreadable) == code.startswith("billing_export")


@pytest.mark.parametrize(
    ("status", "body", "code", "revoked"),
    [
        (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, "provider_key_invalid", True),
        (401, {"error": "invalid_client", "error_description": "The OAuth client was disabled."}, None, True),
        (
            400,
            {
                "error": "invalid_grant",
                "error_description": "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            },
            "google_clock_skew",
            False,
        ),
        (400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope."}, "google_token_refused", False),
        (400, {"error": "unauthorized_client"}, "google_token_refused", False),
    ],
    ids=["bad-signature", "disabled-account", "clock-skew", "invalid-scope", "unauthorized-client"],
)
def test_only_a_refused_grant_or_account_is_a_bad_key(status: int, body: Any, code: str | None, revoked: bool) -> None:
    """The token endpoint answers RFC 6749 §5.2 error codes (developers.google.com/identity/protocols/oauth2/
    service-account, "Handling errors"): only a refused grant or a disabled account says the key is bad."""
    explained = google_errors.token(status, body, "google returned ...")

    assert explained is not None
    assert isinstance(explained, ProviderAuthError) is revoked
    assert explained.code == (code or "provider_key_invalid")
