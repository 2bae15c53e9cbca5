"""The Firestore client: created lazily, once per instance, behind one accessor.

With ``FIRESTORE_EMULATOR_HOST`` set (the local stack and tests) the client library talks to the emulator; the
setting lives in ``Settings`` and the library reads the same environment variable.
"""

from __future__ import annotations

import threading
from typing import Any

from shared.config import Settings

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def firestore_client(settings: Settings) -> Any:
    """The instance's ``google.cloud.firestore.Client`` for the settings' project."""
    key = f"{settings.project_id}|{settings.firestore_emulator_host}"
    with _lock:
        client = _clients.get(key)
        if client is None:
            from google.cloud import firestore

            if settings.firestore_emulator_host:
                from google.auth.credentials import AnonymousCredentials

                client = firestore.Client(project=settings.project_id, credentials=AnonymousCredentials())
            else:
                client = firestore.Client(project=settings.project_id)
            _clients[key] = client
        return client


def reset_clients() -> None:
    """Forget cached clients (tests that switch emulators call this)."""
    with _lock:
        _clients.clear()
