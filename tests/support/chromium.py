"""Headless Chromium (Debian's package, installed by ``make browser``) to see HTML as a person would.

Started with a fresh profile and without background networking: the machine has no internet, and Chromium would
otherwise keep trying to reach Google's services.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is missing: `make browser` installs Debian's package"
    return found


def _run(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def screenshot(page: Path, png: Path, *, width: int = 720, height: int = 2400) -> None:
    _run([f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()], page.parent / "profile-shot")


def dump_dom(page: Path, *, width: int = 720, height: int = 1200) -> str:
    """The DOM after the page's scripts ran (``--dump-dom``) in a window of the given size."""
    return _run([f"--window-size={width},{height}", "--dump-dom", page.as_uri()], page.parent / "profile-dom").stdout
