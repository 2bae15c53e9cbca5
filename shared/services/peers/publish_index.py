"""Publish the market index: ``indices/{YYYY-MM-DD}`` for each day of a sync window.

The index is computed from list prices only (``shared.domain.peers.market_index``), so it does not depend on any
enterprise's data; the daily dispatcher publishes it for the same days the sync re-pulls. Each write replaces the
whole day with a deterministic document, so a re-run changes nothing.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from shared.domain.peers.market_index import index_for_day
from shared.ports import IndexStore

log = logging.getLogger(__name__)


def publish_index(store: IndexStore, start: date, end_exclusive: date) -> int:
    """Compute and store the index for every day of ``[start, end_exclusive)``; returns how many days were stored."""
    day, stored = start, 0
    while day < end_exclusive:
        store.put(index_for_day(day))
        stored += 1
        day += timedelta(days=1)
    log.info("market index published", extra={"start": start.isoformat(), "days": stored})
    return stored
