"""The official Firestore emulator (shipped with the Google Cloud CLI), with the project's ``firestore.rules``."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

from devstack.processes import Managed, StartupError, free_port, start, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "firestore.rules"


def start_firestore_emulator(port: int | None = None, *, log_path: Path, rules: Path = RULES) -> tuple[Managed, str]:
    """Start the emulator in its own process group; returns it and its ``host:port``."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise StartupError("the Google Cloud CLI (gcloud) is required for the Firestore emulator")
    port = port or free_port()
    host = f"127.0.0.1:{port}"
    managed = start(
        "firestore-emulator",
        [gcloud, "emulators", "firestore", "start", f"--host-port={host}", f"--rules={rules}", "--quiet"],
        log_path=log_path,
    )
    wait_for_port(managed, port, timeout_s=90)
    return managed, host


def reset_firestore(host: str, project_id: str) -> None:
    """Delete every document in the emulator's default database for ``project_id``."""
    url = f"http://{host}/emulator/v1/projects/{project_id}/databases/(default)/documents"
    request = urllib.request.Request(url, method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
