"""Token revocation from Firebase Auth: a token is revoked when the account signed out everywhere (its
``tokensValidAfterTime`` is after the sign-in the token carries), is disabled, or no longer exists.

Checked only on sensitive operations (``Route.sensitive``): it is one Identity Toolkit lookup per request, which
needs the caller's function to hold ``roles/firebaseauth.viewer`` (Terraform grants it to ``api`` and ``connect``).
"""

from __future__ import annotations

import threading
from typing import Any

from shared.config import Settings
from shared.errors import DependencyUnavailable


class FirebaseRevocations:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: Any = None
        self._lock = threading.Lock()

    def _firebase_app(self) -> Any:
        # Its own app, with the function's identity: the token-verifying app holds no credential at all.
        with self._lock:
            if self._app is None:
                import firebase_admin
                from firebase_admin import credentials

                name = f"usage-tracking-revocations-{self._settings.project_id}"
                try:
                    self._app = firebase_admin.get_app(name)
                except ValueError:
                    self._app = firebase_admin.initialize_app(
                        credentials.ApplicationDefault(), options={"projectId": self._settings.project_id}, name=name
                    )
            return self._app

    def revoked(self, uid: str, authenticated_at: float | None) -> bool:
        from firebase_admin import auth, exceptions
        from google.auth.exceptions import GoogleAuthError

        try:
            record = auth.get_user(uid, app=self._firebase_app())
        except auth.UserNotFoundError:
            return True
        except (exceptions.FirebaseError, GoogleAuthError) as e:
            # Firebase Auth unreachable, or our own credential unavailable: 503, never a pass.
            raise DependencyUnavailable("token revocation cannot be checked right now", code="auth_unavailable") from e
        if record.disabled:
            return True
        valid_after_ms = record.tokens_valid_after_timestamp
        if not valid_after_ms:
            return False
        return authenticated_at is None or authenticated_at * 1000 < valid_after_ms


class LocalRevocations:
    """Local mode: tokens are minted by the stack itself and nothing revokes them."""

    def revoked(self, uid: str, authenticated_at: float | None) -> bool:
        return False
