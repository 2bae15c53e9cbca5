"""Start ``make run``'s runner as a test fixture would: free ports, its own state folder, stopped like Ctrl-C.

Each stack keeps its state (``stack.json``, logs, the SMTP sink's ``mail/``) in a folder of its own through
``LOCAL_STATE_DIR``, so several test modules (or several developers' runs) never read one another's stack.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.processes import free_port, group_alive
from tests.conftest import ROOT

PORT_NAMES = ("API_PORT", "FIRESTORE_PORT", "TASKS_PORT", "SECRETS_PORT", "SIM_PORT", "SMTP_PORT")
START_TIMEOUT_S = 180


def stack_env(ports: dict[str, int], state_dir: Path) -> dict[str, str]:
    """The environment a developer's shell would have: none of the test session's emulator settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    for name in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "PROJECT_ID"):
        env.pop(name, None)
    env.update({name: str(port) for name, port in ports.items()})
    env["LOCAL_STATE_DIR"] = str(state_dir)
    return env


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    output: Path
    state_dir: Path
    api: str
    info: dict[str, Any] = field(default_factory=dict)
    """``stack.json`` as the runner wrote it at start-up."""

    @property
    def stack_file(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def mail_dir(self) -> Path:
        return self.state_dir / "mail"

    def printed(self) -> str:
        return self.output.read_text()

    def token(self) -> str:
        """The demo admin's bearer token, as the runner printed it."""
        found = re.search(r"export TOKEN=(\S+)", self.printed())
        assert found, self.printed()[-2000:]
        return found.group(1)

    def env(self) -> dict[str, str]:
        return stack_env({}, self.state_dir)

    def trigger(self, job: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``make trigger JOB=...`` against this stack."""
        return subprocess.run(
            [sys.executable, "-m", "devstack.scheduler", "trigger", job],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop(self) -> None:
        """Stop as Ctrl-C would, then make sure of every process group the runner recorded."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.info.get("pids", {}).values():
            if group_alive(pid):
                os.killpg(pid, signal.SIGKILL)


@contextmanager
def local_stack(state_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[RunningStack]:
    """Run ``python -m devstack.runner`` (what ``make run`` runs) until the ``with`` block ends."""
    ports = {name: free_port() for name in PORT_NAMES}
    state_dir.mkdir(parents=True, exist_ok=True)
    output = state_dir / "runner.out"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack.runner"],
            cwd=ROOT,
            env={**stack_env(ports, state_dir), **(extra_env or {})},
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    running = RunningStack(process, output, state_dir, f"http://127.0.0.1:{ports['API_PORT']}")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "export TOKEN=" not in running.printed():
            assert process.poll() is None, running.printed()[-3000:]
            assert time.monotonic() < deadline, "the stack did not start in time"
            time.sleep(0.5)
        running.info = json.loads(running.stack_file.read_text())
        yield running
    finally:
        running.stop()


def all_documents(info: dict[str, Any]) -> list[str]:
    """Every document of the stack's Firestore emulator, as JSON text (an export, walked recursively)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = info["firestore_emulator_host"]
    try:
        client = firestore.Client(project=info["project_id"], credentials=AnonymousCredentials())
        found: list[str] = []
        pending = list(client.collections())
        while pending:
            collection = pending.pop()
            for snap in collection.stream():
                found.append(json.dumps(snap.to_dict(), default=str))
                pending.extend(snap.reference.collections())
        client.close()
        return found
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
