"""Emulator-style tokens for local mode.

The Firebase Auth emulator issues unsigned JWTs (``alg: none``); firebase-admin accepts them when
``FIREBASE_AUTH_EMULATOR_HOST`` is set. Cloud Tasks and Cloud Scheduler send Google-signed OIDC tokens in
production; locally the stack mints the same claims unsigned and the API checks them in local mode only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import time
from typing import Any

FIREBASE_ISSUER_PREFIX = "https://securetoken.google.com/"
GOOGLE_OIDC_ISSUER = "https://accounts.google.com"


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT as the Firebase Auth emulator issues it."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def uid_for_email(email: str) -> str:
    """A stable user id for an email address, as the emulator would keep for a returning user."""
    return "u_" + hashlib.sha256(email.lower().encode()).hexdigest()[:24]


def mint_user_token(
    email: str,
    project_id: str,
    *,
    uid: str | None = None,
    lifetime_s: int = 3600,
    now: float | None = None,
    **extra: Any,
) -> str:
    """A Firebase ID token for ``email`` in local mode."""
    issued = int(now if now is not None else time.time())
    user_id = uid or uid_for_email(email)
    claims: dict[str, Any] = {
        "iss": FIREBASE_ISSUER_PREFIX + project_id,
        "aud": project_id,
        "auth_time": issued,
        "user_id": user_id,
        "sub": user_id,
        "iat": issued,
        "exp": issued + lifetime_s,
        "email": email,
        "email_verified": True,
        "firebase": {"identities": {"email": [email]}, "sign_in_provider": "password"},
    }
    claims.update(extra)
    return unsigned_jwt(claims)


def mint_oidc_token(email: str, audience: str, *, lifetime_s: int = 3600, now: float | None = None) -> str:
    """An OIDC token with the claims Cloud Scheduler / Cloud Tasks send, unsigned, for local mode."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": GOOGLE_OIDC_ISSUER,
        "aud": audience,
        "azp": email,
        "email": email,
        "email_verified": True,
        "sub": uid_for_email(email),
        "iat": issued,
        "exp": issued + lifetime_s,
    }
    return unsigned_jwt(claims)


def mint_identity_token(subject: str, audience: str, *, lifetime_s: int = 3600, now: float | None = None) -> str:
    """The identity token the metadata server gives a service account (``format=full``), unsigned, for local mode:
    ``azp`` and ``sub`` are the account's numeric id, ``aud`` the audience asked for."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": GOOGLE_OIDC_ISSUER,
        "aud": audience,
        "azp": subject,
        "sub": subject,
        "iat": issued,
        "exp": issued + lifetime_s,
    }
    return unsigned_jwt(claims)


class UnsignedTokens:
    """Local mode's token minter (``shared.ports.LocalTokenMinter``): the claims Google would sign, unsigned."""

    def oidc_token(self, email: str, *, audience: str, lifetime_s: int) -> str:
        return mint_oidc_token(email, audience, lifetime_s=lifetime_s)

    def identity_token(self, subject: str, *, audience: str) -> str:
        return mint_identity_token(subject, audience)


def install() -> None:
    """Install the minter in this process (``shared.local_mode``): every local-stack process that runs product code
    in local mode calls this first."""
    from shared.local_mode import install_token_minter

    install_token_minter(UnsignedTokens())


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a local-mode Firebase ID token.")
    parser.add_argument("email")
    parser.add_argument("--project", default=None, help="project id (default: the settings' project id)")
    args = parser.parse_args()
    project = args.project
    if project is None:
        from shared.config import get_settings

        project = get_settings().project_id
    print(mint_user_token(args.email, project))  # noqa: T201 - a CLI's output


if __name__ == "__main__":
    main()
