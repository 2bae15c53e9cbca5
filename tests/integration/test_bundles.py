"""Deploy bundles are self-contained: each starts under functions-framework from its own folder, isolated from the
repository, with only the runtime dependencies pinned in uv.lock.

Only sources that exist are started; a deployed function without code fails
test_infra.py::test_every_deployed_function_has_code_and_every_entry_point_is_deployed instead.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from devstack.bundle import build_bundle, deployed_sources, export_requirements, zip_bundle
from devstack.processes import free_port, start, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = json.loads((ROOT / "infra" / "functions.json").read_text())["functions"]
EXISTING = [s for s in deployed_sources() if (ROOT / s / "main.py").is_file()]
ENTRIES = [(f["source"], f["entry_point"]) for f in FUNCTIONS if f["source"] in EXISTING]
CRASH_MARKERS = ("Traceback", "ImportError", "ModuleNotFoundError")


def _runtime_closure() -> set[str]:
    """Package names the project needs at run time, walked from uv.lock's dependency graph (dev group excluded)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages: dict[str, list[dict[str, object]]] = {}
    for package in lock["package"]:
        packages.setdefault(package["name"], []).append(package)
    (project,) = [p for p in lock["package"] if p.get("source") == {"virtual": "."}]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo = [(d["name"], tuple(d.get("extra", []))) for d in project["dependencies"]]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for package in packages[name]:
            wanted = list(package.get("dependencies", []))  # type: ignore[call-overload]
            for extra in extras:
                wanted += package.get("optional-dependencies", {}).get(extra, [])  # type: ignore[attr-defined]
            todo += [(d["name"], tuple(d.get("extra", []))) for d in wanted]
    return {name for name, _ in seen}


@pytest.fixture(scope="module")
def requirements() -> str:
    return export_requirements()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory, requirements: str) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("bundles")
    return {source: build_bundle(source, out, requirements=requirements) for source in EXISTING}


def test_requirements_pin_exactly_the_runtime_dependencies(requirements: str) -> None:
    lines = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[^\s;]+( ; .+)?", line) for line in lines), lines
    names = {line.split("==")[0] for line in lines}
    assert names == _runtime_closure()
    assert not {"pytest", "ruff", "mypy", "python-hcl2", "aiosmtpd", "schemathesis"} & names


@pytest.mark.parametrize("source", EXISTING)
def test_bundle_holds_the_function_and_shared_and_nothing_of_the_dev_tree(
    bundles: dict[str, Path], source: str
) -> None:
    bundle = bundles[source]
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert {"main.py", "requirements.txt", "shared/__init__.py", "shared/config.py"} <= files
    assert not {f for f in files if f.startswith(("devstack/", "tests/", "infra/")) or "__pycache__" in f}
    shared_modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "shared").rglob("*.py")}
    assert shared_modules <= files


def test_zips_are_reproducible(tmp_path: Path, requirements: str) -> None:
    if not EXISTING:
        pytest.skip("no function source exists yet")
    first = zip_bundle(build_bundle(EXISTING[0], tmp_path / "a", requirements=requirements)).read_bytes()
    second = zip_bundle(build_bundle(EXISTING[0], tmp_path / "b", requirements=requirements)).read_bytes()
    assert first == second


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    dead = str(free_port())  # nothing listens here: backends are unreachable, never on the network
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PROJECT_ID": "demo-bundle",
        "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{dead}",
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{dead}",
        "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{dead}",
        "SECRET_MANAGER_EMULATOR_HOST": f"127.0.0.1:{dead}",
        # google-auth must never probe the metadata server's link-local address from a test.
        "GCE_METADATA_HOST": f"127.0.0.1:{dead}",
        "GCE_METADATA_IP": f"127.0.0.1:{dead}",
        "NO_GCE_CHECK": "True",
    }


@pytest.mark.parametrize(("source", "entry_point"), ENTRIES)
def test_bundle_starts_on_its_own(
    bundles: dict[str, Path], isolated_env: dict[str, str], tmp_path: Path, source: str, entry_point: str
) -> None:
    port = free_port()
    log = tmp_path / "function.log"
    # -I: no PYTHONPATH, no current directory, no user site; only the venv's packages and the bundle itself.
    argv = [sys.executable, "-I", "-m", "functions_framework", "--target", entry_point, "--source", "main.py",
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    managed = start(f"bundle-{entry_point}", argv, log_path=log, env=isolated_env, cwd=bundles[source])
    try:
        wait_for_port(managed, port, timeout_s=60)
        with httpx.Client(trust_env=False, timeout=20) as client:
            response = client.post(f"http://127.0.0.1:{port}/", json={})
        assert managed.alive()
    finally:
        managed.stop()
    output = log.read_text(errors="replace")
    assert response.status_code < 500, output
    assert not [marker for marker in CRASH_MARKERS if marker in output], output
