"""Who is calling: Firebase ID tokens for end users, Google OIDC tokens for Cloud Scheduler and Cloud Tasks.

Verification is delegated to firebase-admin and google-auth; nothing here checks a signature by hand. Local mode
(``FIREBASE_AUTH_EMULATOR_HOST`` set, never on Google Cloud) accepts emulator tokens the way firebase-admin does
against the Auth emulator. firebase-admin skips the expiry check for emulator tokens, so we check ``exp`` ourselves
to keep local behaviour identical to production.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from shared.config import Settings
from shared.domain.enterprise.callers import ServiceCaller, User
from shared.errors import DependencyUnavailable, Unauthenticated
from shared.ports import Clock

log = logging.getLogger(__name__)

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
CLOCK_SKEW_S = 30


class FirebaseUserVerifier:
    """Verifies Firebase Auth ID tokens (signature, audience, issuer, expiry) with firebase-admin."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._app: Any = None
        self._lock = threading.Lock()

    def _firebase_app(self) -> Any:
        # Created lazily, once per instance: importing firebase_admin and building the app costs cold-start time.
        with self._lock:
            if self._app is None:
                import firebase_admin

                name = f"usage-tracking-{self._settings.project_id}"
                try:
                    self._app = firebase_admin.get_app(name)
                except ValueError:
                    self._app = firebase_admin.initialize_app(
                        _verification_only_credential(),
                        options={"projectId": self._settings.project_id},
                        name=name,
                    )
            return self._app

    def verify(self, token: str) -> User:
        from firebase_admin import auth

        try:
            claims: dict[str, Any] = auth.verify_id_token(token, app=self._firebase_app())
        except (auth.ExpiredIdTokenError, auth.RevokedIdTokenError) as e:
            raise Unauthenticated("the ID token has expired", code="token_expired") from e
        except (auth.InvalidIdTokenError, ValueError) as e:
            raise Unauthenticated("the ID token is not valid for this project", code="invalid_token") from e
        except auth.CertificateFetchError as e:
            # Google's keys could not be fetched: our problem, not the caller's token. 503 asks the client to retry;
            # a 401 would tell a signed-in user to sign in again, which cannot help.
            raise DependencyUnavailable("ID tokens cannot be verified right now", code="auth_unavailable") from e
        self._check_times(claims)
        signed_in = claims.get("auth_time", claims.get("iat"))
        return User(
            uid=str(claims["uid"]),
            email=claims.get("email"),
            email_verified=bool(claims.get("email_verified", False)),
            authenticated_at=float(signed_in) if isinstance(signed_in, int | float) else None,
        )

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock.now().timestamp()
        exp = claims.get("exp")
        iat = claims.get("iat")
        if not isinstance(exp, int | float) or exp <= now:
            raise Unauthenticated("the ID token has expired", code="token_expired")
        if isinstance(iat, int | float) and iat > now + CLOCK_SKEW_S:
            raise Unauthenticated("the ID token is not valid yet", code="invalid_token")


def _verification_only_credential() -> Any:
    """A credential for an app that only verifies ID tokens.

    Verification needs Google's public certificates, not our identity, so the API function holds no credential for
    Firebase Auth at all (and skips the Application Default Credentials lookup on cold start).
    """
    from firebase_admin import credentials
    from google.auth.credentials import AnonymousCredentials

    class _VerificationOnly(credentials.Base):  # type: ignore[misc]
        def get_credential(self) -> AnonymousCredentials:
            return AnonymousCredentials()

    return _VerificationOnly()


class GoogleOidcVerifier:
    """Verifies the OIDC token Cloud Scheduler / Cloud Tasks attach, and the calling service account."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._request: Any = None

    def verify(self, token: str, *, audience: str, allowed_emails: frozenset[str]) -> ServiceCaller:
        claims = self._local_claims(token) if self._settings.local_mode else self._google_claims(token, audience)
        if claims.get("aud") != audience:
            raise Unauthenticated("the token was issued for another audience", code="invalid_token")
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise Unauthenticated("the token was not issued by Google", code="invalid_token")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= self._clock.now().timestamp():
            raise Unauthenticated("the token has expired", code="token_expired")
        email = claims.get("email")
        if not claims.get("email_verified") or email not in allowed_emails:
            raise Unauthenticated("this caller may not invoke this function", code="caller_not_allowed")
        return ServiceCaller(email=str(email))

    def _google_claims(self, token: str, audience: str) -> dict[str, Any]:
        import google.auth.transport.requests
        from google.oauth2 import id_token

        if self._request is None:
            self._request = google.auth.transport.requests.Request()
        from google.auth import exceptions

        try:
            claims: dict[str, Any] = id_token.verify_oauth2_token(token, self._request, audience=audience)
        except exceptions.TransportError as e:
            # Google's certificates could not be fetched: 503, so Cloud Tasks / Scheduler retry with backoff.
            raise DependencyUnavailable("OIDC tokens cannot be verified right now", code="auth_unavailable") from e
        except ValueError as e:
            raise Unauthenticated("the OIDC token is not valid", code="invalid_token") from e
        return claims

    @staticmethod
    def _local_claims(token: str) -> dict[str, Any]:
        # Local mode only (see module docstring): the stack mints unsigned tokens with Google's claims.
        from google.auth import jwt

        try:
            header = jwt.decode_header(token)
            claims: dict[str, Any] = jwt.decode(token, verify=False)
        except ValueError as e:
            raise Unauthenticated("the OIDC token is malformed", code="invalid_token") from e
        if header.get("alg") not in ("none", "RS256"):
            raise Unauthenticated("the OIDC token is malformed", code="invalid_token")
        return claims
