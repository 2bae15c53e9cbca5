"""What only the local stack can give local mode, installed by it where a process starts (its composition root).

Where Google signs a token in production (Cloud Tasks' OIDC tokens, the metadata server's identity tokens), local mode
sends the same claims unsigned, which only local mode accepts. The minter of those tokens belongs to the local stack
(``devstack``): product code asks for it here, and only when ``Settings.local_mode`` is on, so nothing under
``shared/`` or ``functions/`` imports ``devstack``. The local stack installs it in each function process it starts
(``devstack.local_function``), and the tests in theirs.
"""

from __future__ import annotations

import threading

from shared.ports import LocalTokenMinter

_minter: LocalTokenMinter | None = None
_lock = threading.Lock()


def install_token_minter(minter: LocalTokenMinter) -> None:
    """Make ``minter`` the process's (the local stack's entry points call this before serving)."""
    global _minter  # one per process, like the local mode it serves
    with _lock:
        _minter = minter


def token_minter() -> LocalTokenMinter:
    """The installed minter; a process in local mode that was not started by the local stack has none."""
    with _lock:
        minter = _minter
    if minter is None:
        raise RuntimeError(
            "local mode has no token minter: start functions through the local stack (devstack.local_function), "
            "which installs it"
        )
    return minter
