"""End-to-end fixtures: deploy units running under functions-framework, talking to the emulators over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devstack.processes import free_port
from devstack.provider_sim import RunningSimulator, serve
from devstack.secret_manager_server import RunningSecretServer, start_server
from devstack.tasks_emulator import RunningTasksEmulator, start_tasks_emulator
from shared.config import Settings
from tests.conftest import LOG_DIR, TEST_PROJECT
from tests.support.connect_stack import simulator
from tests.support.functions import start_function
from tests.support.task_recorder import TaskRecorder


@pytest.fixture(scope="session")
def api_url(firestore_host: str) -> Iterator[str]:
    env = {
        "PROJECT_ID": TEST_PROJECT,
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
        "PYTHONUNBUFFERED": "1",  # log lines reach the log file at once (tests scan it)
    }
    managed, url = start_function("api", "api", env, log_dir=LOG_DIR)
    try:
        yield url
    finally:
        managed.stop()


# --- The connect function and what it talks to ------------------------------------------------------------------

DEFAULTS = Settings()


@pytest.fixture(scope="session")
def secret_server() -> Iterator[RunningSecretServer]:
    """The local Secret Manager (gRPC, in memory), shared by the session: tests use their own enterprises."""
    with start_server() as server:
        yield server


@pytest.fixture(scope="session")
def task_recorder() -> Iterator[TaskRecorder]:
    """Stands in for the internal functions (``sync_worker``) that Cloud Tasks delivers to."""
    recorder = TaskRecorder()
    yield recorder
    recorder.close()


@pytest.fixture(scope="session")
def tasks_emulator() -> Iterator[RunningTasksEmulator]:
    with start_tasks_emulator(
        project=TEST_PROJECT,
        region=DEFAULTS.region,
        queues=[DEFAULTS.sync_queue],
        log_path=LOG_DIR / "tasks-emulator-e2e.log",
    ) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def provider_sim() -> Iterator[RunningSimulator]:
    """The provider simulator with the organisations of ``tests.support.connect_stack``, served in-process."""
    with serve(simulator()) as running:
        yield running


@dataclass(frozen=True)
class ConnectStack:
    url: str
    """The ``connect`` function talking to the simulator."""
    unreachable_url: str
    """A second ``connect`` function whose providers' base URLs point at a port nobody listens on."""
    secrets: RunningSecretServer
    recorder: TaskRecorder
    sim: RunningSimulator


def _connect_env(
    firestore_host: str, secrets: RunningSecretServer, tasks: RunningTasksEmulator, recorder: TaskRecorder
) -> dict[str, str]:
    return {
        "PROJECT_ID": TEST_PROJECT,
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
        "SECRET_MANAGER_EMULATOR_HOST": secrets.address,
        "CLOUD_TASKS_EMULATOR_HOST": tasks.address,
        "FUNCTION_BASE_URL": recorder.base_url,
        # Retries stay on, with short backoffs so the provider-failure cases take milliseconds, not seconds.
        "PROVIDER_BACKOFF_BASE_S": "0.01",
        "PROVIDER_BACKOFF_MAX_S": "0.05",
        "PROVIDER_CONNECT_TIMEOUT_S": "2",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def connect_stack(
    firestore_host: str,
    secret_server: RunningSecretServer,
    tasks_emulator: RunningTasksEmulator,
    task_recorder: TaskRecorder,
    provider_sim: RunningSimulator,
) -> Iterator[ConnectStack]:
    env = _connect_env(firestore_host, secret_server, tasks_emulator, task_recorder)
    live = {
        "OPENAI_BASE_URL": provider_sim.openai_base_url,
        "ANTHROPIC_BASE_URL": provider_sim.anthropic_base_url,
        **provider_sim.google_env(),
        **provider_sim.aws_env(),
        **provider_sim.azure_env(),
    }
    nowhere = f"http://127.0.0.1:{free_port()}"
    dead = {
        "OPENAI_BASE_URL": f"{nowhere}/openai",
        "ANTHROPIC_BASE_URL": f"{nowhere}/anthropic",
        "GOOGLE_TOKEN_URL": f"{nowhere}/google/token",
        "GOOGLE_MONITORING_BASE_URL": f"{nowhere}/google/monitoring",
        "GOOGLE_BIGQUERY_BASE_URL": f"{nowhere}/google/bigquery",
        "AWS_STS_URL": f"{nowhere}/aws/sts",
        "AWS_CLOUDWATCH_URL": f"{nowhere}/aws/monitoring/{{region}}",
        "AWS_COST_EXPLORER_URL": f"{nowhere}/aws/ce",
        "AWS_BEDROCK_URL": f"{nowhere}/aws/bedrock/{{region}}",
        "AWS_S3_URL": f"{nowhere}/aws/s3/{{region}}",
        "AZURE_LOGIN_URL": f"{nowhere}/azure/login",
        "AZURE_MANAGEMENT_URL": f"{nowhere}/azure/arm",
    }
    managed, url = start_function("connect", "connect", {**env, **live}, log_dir=LOG_DIR)
    try:
        unreachable, unreachable_url = start_function(
            "connect", "connect", {**env, **dead}, log_dir=LOG_DIR / "unreachable-providers"
        )
        try:
            yield ConnectStack(url, unreachable_url, secret_server, task_recorder, provider_sim)
        finally:
            unreachable.stop()
    finally:
        managed.stop()
