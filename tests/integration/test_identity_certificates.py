"""When Google's signing certificates cannot be fetched, a token cannot be judged: that is a 503 (retry later), not a
401 (sign in again) nor a 500. The fetch goes through a proxy on a closed local port, so it fails the same way on any
machine, with or without internet."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

from devstack.processes import free_port
from shared.adapters.firebase_revocations import FirebaseRevocations
from shared.adapters.identity import FirebaseUserVerifier, GoogleOidcVerifier
from shared.bootstrap import SystemClock, build_web_app
from shared.config import Settings
from shared.errors import DependencyUnavailable
from shared.web.http import ApiRequest, Headers

PROJECT = "demo-certs"
DEPLOYED = Settings(project_id=PROJECT, firebase_auth_emulator_host=None)
"""Not local mode: tokens are verified against Google's certificates."""


@pytest.fixture
def no_route_to_google(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, closed)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")  # firebase-admin reads it itself: deployed behaviour here


def _signed(claims: dict[str, object]) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    now = int(time.time())
    token: bytes = jwt.encode(crypt.RSASigner.from_string(pem, key_id="k1"), {"iat": now, "exp": now + 600, **claims})
    return token.decode()


def test_a_firebase_token_that_cannot_be_checked_is_503_for_the_user(no_route_to_google: None) -> None:
    token = _signed({"iss": f"https://securetoken.google.com/{PROJECT}", "aud": PROJECT, "sub": "u1", "auth_time": 1})
    with pytest.raises(DependencyUnavailable):
        FirebaseUserVerifier(DEPLOYED, SystemClock()).verify(token)

    app = build_web_app("api", settings=DEPLOYED)
    response = app.handle(ApiRequest("GET", "/api/v1/invites", Headers({"Authorization": f"Bearer {token}"})))
    assert response.status == 503
    assert response.headers["Retry-After"]
    assert json.loads(response.body)["code"] == "auth_unavailable"


def test_an_oidc_token_that_cannot_be_checked_is_503_so_the_queue_retries(no_route_to_google: None) -> None:
    audience = "https://europe-west1-demo-certs.cloudfunctions.net/sync_worker"
    token = _signed({"iss": "https://accounts.google.com", "aud": audience, "email": "t@x", "email_verified": True})
    with pytest.raises(DependencyUnavailable):
        GoogleOidcVerifier(DEPLOYED, SystemClock()).verify(token, audience=audience, allowed_emails=frozenset({"t@x"}))


def test_a_revocation_that_cannot_be_checked_is_503_never_a_pass(
    no_route_to_google: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Sensitive operations ask Firebase Auth whether the session was revoked; unreachable means no answer."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(DependencyUnavailable):
        FirebaseRevocations(DEPLOYED).revoked("u1", time.time())
