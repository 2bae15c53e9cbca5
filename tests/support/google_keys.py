"""Service-account keys for tests, generated at run time (never committed), one per name per test session."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from devstack.provider_sim.google_keys import generate_key

PROJECT = "acme-usage-test"


@lru_cache(maxsize=16)
def _cached(name: str) -> dict[str, Any]:
    return generate_key("test", PROJECT, f"{name}@{PROJECT}.iam.gserviceaccount.com").info


def service_account_key(name: str = "usage-reader") -> dict[str, Any]:
    """A JSON key exactly shaped like the ones Google's console downloads (a copy: tests may change it)."""
    return dict(_cached(name))


def pem_body(key: dict[str, Any]) -> str:
    """A run of the private key's base64 body: searching for it finds the key however it was re-encoded."""
    lines = key["private_key"].splitlines()
    return lines[5]
