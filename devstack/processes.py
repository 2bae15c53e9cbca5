"""Child processes of the local stack and the tests, each in its own process group.

The ``gcloud`` emulator wrapper starts a Java child; killing only the wrapper leaves Java running. Every process is
therefore started as the leader of a new session and stopped by signalling its whole group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class StartupError(RuntimeError):
    """A process did not come up; the message says which and shows the end of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class ManagedProcess(Protocol):
    """What the local stack needs of anything it started."""

    name: str

    @property
    def pid(self) -> int: ...

    def alive(self) -> bool: ...

    def stop(self, timeout_s: float = ...) -> None: ...


@dataclass
class Managed:
    """A started process group."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the whole group, then SIGKILL what is left; never raises for an already-gone group."""
        pgid = self.process.pid
        for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not group_alive(pgid):
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=0.1)
            else:
                continue
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Managed:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    try:
        process = subprocess.Popen(  # a fixed argv built by the stack, never a shell string
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    finally:
        log.close()
    return Managed(name, process, log_path)


def wait_for_port(managed: Managed, port: int, *, host: str = "127.0.0.1", timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not managed.alive():
            raise StartupError(
                f"{managed.name} exited early (code {managed.process.returncode}):\n{tail(managed.log_path)}"
            )
        if port_in_use(port, host):
            return
        time.sleep(0.1)
    managed.stop()
    raise StartupError(f"{managed.name} did not open {host}:{port} within {timeout_s:.0f}s:\n{tail(managed.log_path)}")
