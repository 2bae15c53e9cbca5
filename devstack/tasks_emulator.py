"""Start and stop the Cloud Tasks emulator (gcloud-tasks-emulator 0.6.2) as a subprocess.

There is no official Cloud Tasks emulator. The community one pins ``protobuf<5``, so ``make setup`` installs it in
its own virtualenv, ``.tools/tasks-emulator``. It is run through ``devstack/tasks_emulator_launcher.py`` so that it
listens on 127.0.0.1 only.

What to know about it (read ``gcloud_tasks_emulator/server.py``): it really POSTs each task to its
``http_request.url`` with the task's headers; it processes each queue sequentially and has no request timeout, so a
target that hangs blocks its queue; a task answered with 4xx/5xx goes straight to the back of the queue and is
retried, up to ``--max-retries`` times; it does not reject duplicate task names.

The emulator runs in its own process group, and ``stop()`` signals the whole group, so nothing is left behind.

    with start_tasks_emulator(project="demo", region="europe-west1", queues=["usage-sync"],
                              log_path=Path(".local/tasks.log")) as emulator:
        os.environ["CLOUD_TASKS_EMULATOR_HOST"] = emulator.address
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from devstack.processes import free_port

logger = logging.getLogger(__name__)

DEFAULT_VENV = Path(__file__).resolve().parents[1] / ".tools" / "tasks-emulator"
LAUNCHER = Path(__file__).with_name("tasks_emulator_launcher.py")
_QUEUE_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_LOG_TAIL_LINES = 20


class TasksEmulatorError(RuntimeError):
    """The emulator is not installed, did not start, or died while starting."""


class RunningTasksEmulator:
    """A started emulator. ``address`` (``127.0.0.1:PORT``) is what ``CLOUD_TASKS_EMULATOR_HOST`` takes."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path, log_file: IO[bytes]) -> None:
        self._process = process
        self._log_file = log_file
        self.port = port
        self.log_path = log_path
        self.address = f"127.0.0.1:{port}"
        self.pid = process.pid
        self.name = "tasks-emulator"
        atexit.register(self.stop)

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the emulator's whole process group: SIGTERM, then SIGKILL after ``timeout_s``. Idempotent."""
        atexit.unregister(self.stop)
        try:
            if self._process.poll() is None:
                _signal_group(self.pid, signal.SIGTERM)
                try:
                    self._process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    logger.warning("Cloud Tasks emulator ignored SIGTERM; killing it", extra={"pid": self.pid})
            # Also reap any child left in the group after the leader exited.
            _signal_group(self.pid, signal.SIGKILL)
            self._process.wait(timeout=timeout_s)
        finally:
            self._log_file.close()

    def __enter__(self) -> RunningTasksEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_tasks_emulator(
    port: int | None = None,
    *,
    project: str,
    region: str,
    queues: Sequence[str],
    log_path: Path,
    max_retries: int = 5,
    startup_timeout_s: float = 30.0,
    venv: Path = DEFAULT_VENV,
) -> RunningTasksEmulator:
    """Start the emulator with ``queues`` created, and wait until its gRPC port accepts connections.

    Args:
        port: Port on 127.0.0.1; a free one when ``None``.
        project: Project id of the queues (``projects/{project}/locations/{region}/queues/{queue}``).
        region: Location of the queues.
        queues: Queue ids to create at start (e.g. the settings' ``sync_queue``, ``reports_queue``, ``erase_queue``).
        log_path: Where the emulator's output goes (created or truncated).
        max_retries: Redeliveries of a task that failed (4xx/5xx) before the emulator gives up; finite, so a
            broken handler does not spin forever.
        startup_timeout_s: How long to wait for the gRPC port.
        venv: The emulator's virtualenv.

    Raises:
        TasksEmulatorError: Not installed, port taken, exited early or not listening in time (with its log's tail).
    """
    python = venv / "bin" / "python"
    if not (venv / "bin" / "gcloud-tasks-emulator").exists() or not python.exists():
        raise TasksEmulatorError(f"Cloud Tasks emulator not found in {venv}: run `make setup`")
    for queue in queues:
        if not _QUEUE_ID.match(queue):
            raise ValueError(f"invalid queue id {queue!r}")
    if port is None:
        port = free_port()
    elif not _port_is_free(port):
        raise TasksEmulatorError(f"port {port} on 127.0.0.1 is already in use")

    command = [str(python), str(LAUNCHER), "start", "--port", str(port), "--max-retries", str(max_retries)]
    for queue in queues:
        command += ["--default-queue", f"projects/{project}/locations/{region}/queues/{queue}"]
    # The emulator's dependencies emit FutureWarnings on import; unbuffered so the log is current on failure.
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("wb")
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    except OSError:
        log_file.close()
        raise
    emulator = RunningTasksEmulator(process, port, log_path, log_file)
    try:
        _wait_until_listening(process, port, startup_timeout_s, log_path)
    except BaseException:
        emulator.stop()
        raise
    logger.info("Cloud Tasks emulator listening", extra={"address": emulator.address, "pid": emulator.pid})
    return emulator


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        code = process.poll()
        if code is not None:
            raise TasksEmulatorError(f"Cloud Tasks emulator exited with code {code}:\n{_tail(log_path)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise TasksEmulatorError(
                f"Cloud Tasks emulator not listening on 127.0.0.1:{port} after {timeout_s:.0f}s:\n{_tail(log_path)}"
            )
        time.sleep(0.05)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(empty log)"


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
