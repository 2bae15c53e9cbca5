"""What functions-framework loads for a function on the local stack (``devstack.local_function``): it installs local
mode's token minter (``devstack.tokens.install``, the one thing product code cannot supply itself), then serves the
entry points of the function's own source, ``functions/<unit>/main.py``, named by ``LOCAL_FUNCTION_SOURCE``."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from devstack.tokens import install


def _load(source: Path) -> dict[str, object]:
    """The entry points of ``source``, loaded as functions-framework loads a source file."""
    spec = importlib.util.spec_from_file_location("main", source, submodule_search_locations=[str(source.parent)])
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the function source {source}")
    module = importlib.util.module_from_spec(spec)
    sys.path.append(str(source.parent))
    sys.modules["main"] = module
    spec.loader.exec_module(module)
    return {name: value for name, value in vars(module).items() if not name.startswith("_")}


install()
globals().update(_load(Path(os.environ["LOCAL_FUNCTION_SOURCE"]).resolve()))
