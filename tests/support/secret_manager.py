"""The real ``SecretManagerStore`` wired to an in-process Secret Manager server, for integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.secret_manager_server import RunningSecretServer, SecretManagerServicer, start_server
from shared.adapters.secret_manager import SecretManagerStore
from shared.config import Settings


@contextmanager
def secret_manager_store(
    *,
    store_path: Path | None = None,
    servicer_class: type[SecretManagerServicer] = SecretManagerServicer,
    timeout_s: float = 5.0,
    replica_locations: tuple[str, ...] = (),
) -> Iterator[tuple[SecretManagerStore, RunningSecretServer]]:
    """A started server on a free loopback port and a store (with its own client) pointed at it."""
    with start_server(store_path=store_path, servicer_class=servicer_class) as server:
        settings = Settings(
            secret_manager_emulator_host=server.address, secret_replica_locations=list(replica_locations)
        )
        store = SecretManagerStore(settings, timeout_s=timeout_s)
        try:
            yield store, server
        finally:
            store.close()
