"""Reading a large query a page at a time, each page continuing after the previous page's last document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shared.adapters.firestore_errors import translated


def query_pages(query: Any, *, page_size: int) -> Iterator[list[Any]]:
    """The snapshots of ``query`` in document-id order, ``page_size`` per page (one query each).

    Raises ``DependencyUnavailable`` when the database is unavailable.
    """
    ordered = query.order_by("__name__").limit(page_size)
    last = None
    while True:
        page = ordered.start_after(last) if last is not None else ordered
        with translated():
            snaps = list(page.stream())
        if not snaps:
            return
        yield snaps
        if len(snaps) < page_size:
            return
        last = snaps[-1]
