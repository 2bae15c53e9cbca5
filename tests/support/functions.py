"""Run deploy units under functions-framework as real HTTP servers, the way the local stack does."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from devstack import local_function
from devstack.processes import Managed, free_port, start, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def start_function(
    source: str, target: str, env: Mapping[str, str], *, log_dir: Path, port: int | None = None
) -> tuple[Managed, str]:
    """Start ``functions-framework --target TARGET`` for ``functions/SOURCE/main.py``; returns it and its URL."""
    port = port or free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    child_env.update(env)
    child_env.update(local_function.environment(f"functions/{source}"))  # its entry point installs the token minter
    managed = start(
        f"function-{target}",
        local_function.command(target, port),
        log_path=log_dir / f"function-{target}.log",
        env=child_env,
        cwd=ROOT,
    )
    wait_for_port(managed, port, timeout_s=60)
    return managed, f"http://127.0.0.1:{port}"
