"""How the local stack (and the tests, the same way) start a function under functions-framework.

functions-framework loads ``devstack/function_entry.py``, which installs local mode's token minter and then serves
the entry points of the function's own ``functions/<unit>/main.py``: product code never imports ``devstack``, the
local stack injects what only it can supply (``shared.local_mode``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY = Path(__file__).with_name("function_entry.py")
SOURCE_ENV = "LOCAL_FUNCTION_SOURCE"


def command(target: str, port: int) -> list[str]:
    """functions-framework serving ``target`` on 127.0.0.1:``port`` through the local entry point."""
    return [
        str(Path(sys.executable).parent / "functions-framework"),
        f"--source={ENTRY}",
        f"--target={target}",
        "--host=127.0.0.1",
        f"--port={port}",
    ]


def environment(source: str) -> dict[str, str]:
    """What the entry point needs to find the function's own source (``source``: e.g. ``functions/sync``)."""
    return {SOURCE_ENV: str(ROOT / source / "main.py"), "PYTHONPATH": str(ROOT)}
