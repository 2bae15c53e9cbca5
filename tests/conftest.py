"""Test harness: a hermetic environment, the Firestore emulator once per session, reset between tests.

Every test starts from an environment with none of the platform's settings from the outside world (so a developer's
shell cannot change results) and in local mode, the way the local stack runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import tokens
from devstack.firestore_emulator import reset_firestore, start_firestore_emulator
from shared import bootstrap
from shared.adapters.firestore_client import firestore_client, reset_clients
from shared.config import Settings, get_settings
from shared.log import install_redaction

TEST_PROJECT = "demo-test"
ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / ".local" / "test-logs"

tokens.install()  # local mode's token minter, as the local stack installs it in each function process it starts

_SETTINGS_ENV = {name.upper() for name in Settings.model_fields} | {
    "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT",
    "GOOGLE_APPLICATION_CREDENTIALS",
}


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name in _SETTINGS_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("PROJECT_ID", TEST_PROJECT)
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    get_settings.cache_clear()
    bootstrap.reset()
    yield
    get_settings.cache_clear()
    bootstrap.reset()


@pytest.fixture(autouse=True)
def redacted_capture(caplog: pytest.LogCaptureFixture) -> None:
    """Captured logs go through the same redaction filter as production logs."""
    install_redaction(caplog.handler)
    caplog.set_level(logging.INFO)


@pytest.fixture(scope="session")
def firestore_host() -> Iterator[str]:
    managed, host = start_firestore_emulator(log_path=LOG_DIR / "firestore-emulator.log")
    try:
        yield host
    finally:
        managed.stop()


@pytest.fixture
def firestore_db(firestore_host: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A clean emulator database for one test; the settings point at it."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_host)
    get_settings.cache_clear()
    reset_firestore(firestore_host, TEST_PROJECT)
    reset_clients()
    yield firestore_client(get_settings())
    reset_clients()
