"""End-to-end fixtures: deploy units running under functions-framework, talking to the emulators over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import LOG_DIR, TEST_PROJECT
from tests.support.functions import start_function


@pytest.fixture(scope="session")
def api_url(firestore_host: str) -> Iterator[str]:
    env = {
        "PROJECT_ID": TEST_PROJECT,
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
    }
    managed, url = start_function("api", "api", env, log_dir=LOG_DIR)
    try:
        yield url
    finally:
        managed.stop()
