"""Signing alert webhooks: HMAC-SHA256 over the timestamp and the body, with a per-enterprise secret.

Every POST carries three headers::

    X-Usage-Alert-Id: budget_critical-2026-11-3f2a…          the alert (a receiver dedupes retries on it)
    X-Usage-Alert-Timestamp: 1795400000                      Unix seconds when this attempt was signed
    X-Usage-Alert-Signature: v1=<hex HMAC-SHA256(secret, "{timestamp}." + body)>

A receiver recomputes the HMAC with the secret it was shown once (the PUT that generated it), compares in constant
time, and refuses a timestamp older than a few minutes, so a captured request cannot be replayed later.
``verify_signature`` is the reference implementation. The secret is the whole ``whsec_…`` string, as UTF-8 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from pydantic import SecretStr

ID_HEADER = "X-Usage-Alert-Id"
TIMESTAMP_HEADER = "X-Usage-Alert-Timestamp"
SIGNATURE_HEADER = "X-Usage-Alert-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a marker, not a secret
VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


def new_generation() -> str:
    """A fresh, random id for a new signing secret of an enterprise (not secret: useless without the key)."""
    return secrets.token_urlsafe(16)


def derive_secret(key: SecretStr, enterprise_id: str, generation: str) -> SecretStr:
    """The signing secret of ``enterprise_id``'s webhook at ``generation``: HMAC-SHA256 under the platform's webhook
    signing key (``Settings.webhook_signing_key``, held in Secret Manager), URL-safe base64 behind ``whsec_``.

    Nothing tenant-specific that signs is stored anywhere: Firestore holds only the generation, and only the
    identities granted the key (the API that shows the secret once, the sync identity that signs) can compute it.
    """
    message = f"alert-webhook/v1/{enterprise_id}/{generation}".encode()
    mac = hmac.new(key.get_secret_value().encode(), message, hashlib.sha256).digest()
    return SecretStr(SECRET_PREFIX + base64.urlsafe_b64encode(mac).decode().rstrip("="))


def new_secret() -> SecretStr:
    """A fresh signing secret: 32 random bytes, URL-safe base64, behind ``whsec_``."""
    return SecretStr(SECRET_PREFIX + secrets.token_urlsafe(32))


def signature(secret: SecretStr, timestamp: int, body: bytes) -> str:
    """The ``X-Usage-Alert-Signature`` value of ``body`` signed at ``timestamp``."""
    mac = hmac.new(secret.get_secret_value().encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def signed_headers(secret: SecretStr, alert_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        ID_HEADER: alert_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify_signature(
    secret: SecretStr,
    body: bytes,
    *,
    timestamp: str,
    signature_header: str,
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether ``signature_header`` signs ``body`` at ``timestamp`` with ``secret``, ``timestamp`` being within
    ``tolerance_s`` of ``now`` (Unix seconds)."""
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - signed_at) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, signed_at, body), signature_header)
