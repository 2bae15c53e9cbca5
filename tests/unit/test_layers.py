"""The layers hold (ADR 0028): every import of the product's code, lazy ones inside functions included, read from its
syntax tree. The domain imports no adapters, services, API, web or composition root; use cases import no adapters;
adapters import no use cases, API or web; nothing under ``shared/`` or ``functions/`` imports the local stack (its
token minter is installed from outside, ``shared.local_mode``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTER = ("shared.api", "shared.web", "shared.bootstrap", "shared.deps")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "shared.domain": ("shared.adapters", "shared.services", *OUTER, "devstack"),
    "shared.services": ("shared.adapters", *OUTER, "devstack"),
    "shared.adapters": ("shared.services", *OUTER, "devstack"),
    "shared": ("devstack",),
    "functions": ("devstack",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in ``path``; ``from a import b`` yields ``a.b`` too (``b`` may be a module)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(name: str, path: Path) -> list[str]:
    """The imports of ``path``, read as module ``name``, that its layers forbid."""
    found = []
    for layer, forbidden in FORBIDDEN.items():
        if within(name, layer):
            found += [f"{name}:{line} imports {m}" for line, m in imports(path) if any(within(m, f) for f in forbidden)]
    return sorted(set(found))


def product_sources() -> list[Path]:
    return sorted([*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")])


def test_no_product_module_imports_across_the_layers() -> None:
    sources = product_sources()
    assert len(sources) > 200  # the scan reads the product, not an empty folder
    assert [v for path in sources for v in violations(module_name(path), path)] == []


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("shared/domain/usage/pricing.py", "from shared.adapters.firestore_client import firestore_client"),
        ("shared/domain/peers/disclosure.py", "import devstack.tokens"),
        ("shared/services/sync/dispatch_sync.py", "from shared.adapters import cloud_tasks"),
        ("shared/adapters/cloud_tasks.py", "from shared.web.context import RequestContext"),
        ("shared/adapters/google_identity.py", "from devstack.tokens import mint_identity_token"),
        ("shared/config.py", "from devstack import tokens"),
        ("functions/sync/main.py", "import devstack.local_function"),
    ],
)
def test_a_crossing_import_is_caught_even_inside_a_function(tmp_path: Path, module: str, planted: str) -> None:
    # The module as it is, plus one import inside a function, the way local-mode code once reached into devstack.
    original = ROOT / module
    copy = tmp_path / original.name
    copy.write_text(original.read_text() + f"\n\ndef _lazy() -> None:\n    {planted}\n")
    found = violations(module_name(original), copy)
    assert len(found) == 1 + planted.startswith("from "), found  # ``from a import b``: both ``a`` and ``a.b``


def test_every_capability_package_says_what_it_owns_and_must_not_import() -> None:
    packages = [
        p
        for base in ("domain", "services")
        for p in sorted((ROOT / "shared" / base).rglob("__init__.py"))
        if p.parent != ROOT / "shared" / base
    ]
    assert len(packages) >= 15
    for init in packages:
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        lines = doc.splitlines()
        assert len(lines) == 2, f"{init.relative_to(ROOT)}: two lines, what it owns and what it must not import"
        assert "never" in lines[1], f"{init.relative_to(ROOT)}: its second line names what it must not import"
