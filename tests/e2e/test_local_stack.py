"""``make run`` end to end: the stack comes up, its printed commands work, Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devstack.processes import free_port, group_alive
from tests.conftest import ROOT


def _env(ports: dict[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    for name in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "PROJECT_ID"):
        env.pop(name, None)
    env.update({name: str(port) for name, port in ports.items()})
    return env


def _wait_for_health(url: str, runner: subprocess.Popen[str], timeout_s: float = 150) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert runner.poll() is None, "the runner exited during start-up"
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("the stack did not become healthy")


def test_make_run_serves_the_api_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    ports = {
        name: free_port()
        for name in ("API_PORT", "FIRESTORE_PORT", "TASKS_PORT", "SECRETS_PORT", "SIM_PORT", "SMTP_PORT")
    }
    out = tmp_path / "runner.out"
    with out.open("w") as sink:
        runner = subprocess.Popen(
            [sys.executable, "-m", "devstack.runner"],
            cwd=ROOT,
            env=_env(ports),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    api = f"http://127.0.0.1:{ports['API_PORT']}"
    try:
        _wait_for_health(api, runner)
        deadline = time.monotonic() + 30
        while "export TOKEN=" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        printed = out.read_text()
        token = re.search(r"export TOKEN=(\S+)", printed)
        assert token, printed
        stack = json.loads((ROOT / ".local" / "stack.json").read_text())
        assert stack["api_base_url"] == api
        assert {"api"} <= set(stack["functions"])

        # The printed curl commands work as printed (with TOKEN exported).
        curls = [line.strip() for line in printed.splitlines() if line.strip().startswith("curl ")]
        assert len(curls) >= 3
        shell_env = {**os.environ, "TOKEN": token.group(1)}
        outputs = {}
        for command in curls:
            result = subprocess.run(
                ["bash", "-c", command + " -w '\\n%{http_code}'"],
                env=shell_env,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            status = result.stdout.strip().rsplit("\n", 1)[-1]
            assert status in {"200", "201"}, (command, result.stdout, result.stderr)
            outputs[command] = result.stdout
        enterprise_get = next(c for c in curls if c.endswith("/api/v1/enterprise"))
        assert json.loads(outputs[enterprise_get].rsplit("\n", 1)[0])["name"] == "Acme Corp"  # the demo seed
        groups = list(stack["pids"].values())
        assert all(group_alive(pid) for pid in groups)
    finally:
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            raise
    assert runner.returncode == 0, out.read_text()[-2000:]
    leftovers = [pid for pid in groups if group_alive(pid)]
    assert leftovers == [], f"process groups still alive after Ctrl-C: {leftovers}"
    assert not (ROOT / ".local" / "stack.json").exists()


def test_a_port_in_use_gives_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = {
            name: free_port() for name in ("FIRESTORE_PORT", "TASKS_PORT", "SECRETS_PORT", "SIM_PORT", "SMTP_PORT")
        }
        ports["API_PORT"] = port
        result = subprocess.run(
            [sys.executable, "-m", "devstack.runner"],
            cwd=ROOT,
            env=_env(ports),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"API_PORT={port}" in result.stderr
    assert "already in use" in result.stderr
    assert "API_PORT=" in result.stderr.split("already in use", 1)[1]  # it suggests how to pick another port
