"""One ``make run`` stack shared by this package's modules (alerts, then monthly reports), started once.

Package scope: the stack stops after the package's last test, not at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.demo_stack import BACKFILL_DAYS
from tests.support.local_stack import RunningStack, local_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with local_stack(tmp_path_factory.mktemp("demo-stack"), {"BACKFILL_DAYS": str(BACKFILL_DAYS)}) as running:
        yield running
