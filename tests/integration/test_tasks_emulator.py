"""Lifecycle of the Cloud Tasks emulator subprocess: it starts on loopback, and stopping leaves nothing behind."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from devstack.tasks_emulator import TasksEmulatorError, start_tasks_emulator
from shared.adapters.cloud_tasks import CloudTasksQueue
from shared.config import Settings


def _fake_venv(tmp_path: Path, script: str) -> Path:
    """A virtualenv whose ``python`` is a shell script, to see how startup failures are reported."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "gcloud-tasks-emulator").write_text("")
    python = bin_dir / "python"
    python.write_text(f"#!/bin/sh\n{script}\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return tmp_path / "venv"


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    emulator = start_tasks_emulator(
        project="demo-test", region="europe-west1", queues=["usage-sync"], log_path=tmp_path / "tasks.log"
    )
    pgid = os.getpgid(emulator.pid)
    assert pgid == emulator.pid  # its own group: stopping it cannot signal the test process
    assert pgid != os.getpgid(0)
    # The queue named at start exists: creating it again is a no-op on the emulator.
    adapter = CloudTasksQueue(Settings(cloud_tasks_emulator_host=emulator.address, region="europe-west1"))
    assert adapter.ensure_queue("usage-sync").endswith("/queues/usage-sync")
    adapter.close()

    emulator.stop()
    emulator.stop()  # idempotent

    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", emulator.port), timeout=1):
        pass


# /proc/net/tcp{,6} spell addresses in hex, byte-swapped per 32-bit word: 127.0.0.1, ::ffff:127.0.0.1 and ::1.
_LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
_LISTEN = "0A"


def _listening_addresses(port: int) -> list[str]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == _LISTEN and int(port_hex, 16) == port:
                found.append(address)
    return found


def test_the_emulator_listens_on_loopback_only(tmp_path: Path) -> None:
    with start_tasks_emulator(project="p", region="r", queues=[], log_path=tmp_path / "tasks.log") as emulator:
        addresses = _listening_addresses(emulator.port)

    assert addresses, "the emulator's port was not found in /proc/net/tcp"
    assert set(addresses) <= _LOOPBACK_HEX, f"listening beyond loopback: {addresses}"


def test_a_missing_installation_says_to_run_make_setup(tmp_path: Path) -> None:
    with pytest.raises(TasksEmulatorError, match="make setup"):
        start_tasks_emulator(project="p", region="r", queues=[], log_path=tmp_path / "t.log", venv=tmp_path)


def test_an_emulator_that_exits_at_start_reports_its_log(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, 'echo "fatal: cannot load queue.yaml"; exit 3')

    with pytest.raises(TasksEmulatorError, match=r"(?s)code 3.*fatal: cannot load queue\.yaml"):
        start_tasks_emulator(project="p", region="r", queues=[], log_path=tmp_path / "t.log", venv=venv)


def test_an_emulator_that_never_listens_times_out_with_its_log_and_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    venv = _fake_venv(tmp_path, f'echo $$ > {pid_file}; echo "still loading"; exec sleep 60')

    with pytest.raises(TasksEmulatorError, match=r"(?s)not listening.*still loading"):
        start_tasks_emulator(
            project="p", region="r", queues=[], log_path=tmp_path / "t.log", venv=venv, startup_timeout_s=0.5
        )

    with pytest.raises(ProcessLookupError):
        os.killpg(int(pid_file.read_text()), 0)


def test_a_port_in_use_is_refused_before_starting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(TasksEmulatorError, match="in use"):
            start_tasks_emulator(
                taken.getsockname()[1], project="p", region="r", queues=[], log_path=tmp_path / "t.log"
            )
