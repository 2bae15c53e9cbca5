"""The dependencies a deploy unit's handlers and services use, created lazily on first use.

The composition root (``shared.bootstrap``) builds one ``Deps`` per instance; tests pass fakes as overrides, so
exactly the same wiring runs with behaving fakes of our own ports.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from shared.config import Settings
from shared.ports import Clock, EnterpriseStore


class Deps:
    def __init__(self, settings: Settings, clock: Clock, **overrides: Any) -> None:
        self.settings = settings
        self.clock = clock
        self._overrides = overrides

    def _override(self, name: str) -> Any:
        return self._overrides.get(name)

    @cached_property
    def firestore(self) -> Any:
        from shared.adapters.firestore_client import firestore_client

        return self._override("firestore") or firestore_client(self.settings)

    @cached_property
    def enterprises(self) -> EnterpriseStore:
        found = self._override("enterprises")
        if found is not None:
            return found  # type: ignore[no-any-return]
        from shared.adapters.firestore_enterprises import FirestoreEnterprises

        return FirestoreEnterprises(self.firestore)
