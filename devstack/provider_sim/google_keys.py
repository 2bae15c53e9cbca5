"""Service-account keys generated at run time, exactly shaped like the JSON keys Google's console downloads.

Each key is a fresh RSA-2048 key pair (``cryptography``); the private half lives only in this process's memory and
in what a caller fetches to connect with (never in the repository). The public half verifies token requests'
assertions. The key's ``token_uri`` is Google's real one: a client must not use it (the simulator serves its token
endpoint elsewhere, so a client that trusted ``token_uri`` would fail loudly).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret


@dataclass
class SimKey:
    """One key of a service account: the JSON a user downloads, and the public key that verifies its signatures."""

    org_id: str
    email: str
    key_id: str
    info: dict[str, Any] = field(repr=False)
    public_pem: str = field(repr=False)
    disabled: bool = False


def generate_key(org_id: str, project_id: str, email: str) -> SimKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    key_id = secrets.token_hex(20)
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**21 - 10**20) + 10**20),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": GOOGLE_TOKEN_URI,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email.replace('@', '%40')}",
        "universe_domain": "googleapis.com",
    }
    return SimKey(org_id=org_id, email=email, key_id=key_id, info=info, public_pem=public)
