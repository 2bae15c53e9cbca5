"""Deployable bundles: one self-contained folder (and zip) per function source, as Cloud Functions builds it.

A bundle holds the source folder's files (``main.py`` and any helpers), the ``shared/`` package and a
``requirements.txt`` with the exact runtime dependencies exported from ``uv.lock`` (no dev dependencies). Nothing
from ``devstack/`` or ``tests/`` goes in. Zips are reproducible (sorted entries, fixed timestamps), so an unchanged
bundle keeps its content hash and Terraform does not redeploy it.

    python -m devstack.bundle --all --out build/bundles      # every source of infra/functions.json that exists
    python -m devstack.bundle functions/api --out build/bundles
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_JSON = ROOT / "infra" / "functions.json"
SHARED = "shared"

# Package data the code may load at run time besides modules (templates, price tables, schemas).
INCLUDED_SUFFIXES = frozenset({".py", ".json", ".yaml", ".yml", ".j2", ".jinja", ".html", ".txt", ".css", ".typed"})
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class BundleError(RuntimeError):
    """A bundle could not be built (missing source, no ``uv`` to export the lock file)."""


def bundle_name(source: str) -> str:
    """The bundle's file stem: ``functions/api`` -> ``api`` (Terraform uses ``basename(source)`` too)."""
    return Path(source).name


def deployed_sources(functions_json: Path = FUNCTIONS_JSON) -> list[str]:
    """Distinct source folders named by ``infra/functions.json``, in file order."""
    entries = json.loads(functions_json.read_text())["functions"]
    return list(dict.fromkeys(str(entry["source"]) for entry in entries))


def _uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"
    if local.exists():
        return str(local)
    found = shutil.which("uv")
    if found is None:
        raise BundleError("uv not found: run `make setup` (it installs .tools/bin/uv)")
    return found


def export_requirements(root: Path = ROOT) -> str:
    """The runtime dependencies pinned in ``uv.lock``, as a pip requirements file (no dev group, no hashes)."""
    argv = [_uv(), "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--no-header"]
    result = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BundleError(f"uv export failed: {result.stderr.strip()}")
    # Keep only requirement lines: the "# via" comments change whenever the dev group does.
    lines = [line for line in result.stdout.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    header = "# Runtime dependencies exported from uv.lock by devstack.bundle; do not edit.\n"
    return header + "\n".join(lines) + "\n"


def _copy_tree(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix not in INCLUDED_SUFFIXES:
            continue
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def build_bundle(source: str, out_dir: Path, *, requirements: str | None = None, root: Path = ROOT) -> Path:
    """Build the bundle of one source folder into ``out_dir/<name>/`` and return that folder.

    Args:
        source: The source folder as in ``infra/functions.json``, e.g. ``functions/api``.
        out_dir: Where bundles go; an existing bundle of the same name is replaced.
        requirements: A requirements file to use instead of exporting ``uv.lock`` again (for ``--all``).
        root: The repository root.

    Raises:
        BundleError: The source folder has no ``main.py``, or the lock file could not be exported.
    """
    src = root / source
    if not (src / "main.py").is_file():
        raise BundleError(f"{source} has no main.py")
    bundle = out_dir / bundle_name(source)
    if bundle.exists():
        shutil.rmtree(bundle)
    bundle.mkdir(parents=True)
    _copy_tree(src, bundle)
    _copy_tree(root / SHARED, bundle / SHARED)
    (bundle / "requirements.txt").write_text(requirements if requirements is not None else export_requirements(root))
    logger.info("built bundle %s from %s", bundle, source)
    return bundle


def zip_bundle(bundle: Path) -> Path:
    """Zip a bundle folder reproducibly into ``<bundle>.zip`` next to it and return the zip's path."""
    archive = bundle.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(bundle).as_posix(), date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return archive


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build and zip the named sources, or every deployed source that exists with ``--all``."""
    parser = argparse.ArgumentParser(prog="python -m devstack.bundle", description="Build deployable function bundles.")
    parser.add_argument("sources", nargs="*", help="source folders, e.g. functions/api")
    parser.add_argument("--all", action="store_true", help="every source of infra/functions.json")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bundles", help="output folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    sources: list[str] = list(args.sources)
    if args.all:
        sources += [s for s in deployed_sources() if s not in sources]
    if not sources:
        parser.error("name sources or pass --all")
    missing = [s for s in sources if not (ROOT / s / "main.py").is_file()]
    if missing:
        # Terraform needs a zip for every deployed source: a partial set would fail the plan later, less clearly.
        logger.error("no main.py in: %s", ", ".join(missing))
        return 1
    requirements = export_requirements()
    args.out.mkdir(parents=True, exist_ok=True)
    for source in sources:
        logger.info("%s", zip_bundle(build_bundle(source, args.out, requirements=requirements)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
