"""``indices/{YYYY-MM-DD}`` in Firestore: one market-index day per document.

A document is the full ``IndexDay`` (Decimals as plain-notation strings, so a stored value reads back exactly) plus
a ``published`` flag. Writes are a plain ``set`` of the whole document, so recomputing a day and writing it again is
idempotent. ``latest`` reads the last few days by id (one batched read) instead of querying, so it needs no
composite index.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from shared.adapters.firestore_errors import TRANSIENT
from shared.domain.peers.index_models import IndexDay
from shared.errors import DependencyUnavailable
from shared.ports import Clock

log = logging.getLogger(__name__)

INDICES = "indices"
_PUBLISHED = "published"


def index_doc(day: IndexDay) -> dict[str, Any]:
    return {**day.model_dump(mode="json"), _PUBLISHED: day.published}


class FirestoreIndices:
    """Implements ``shared.ports.IndexStore``."""

    def __init__(self, client: Any, clock: Clock) -> None:
        self._db = client
        self._clock = clock

    def put(self, day: IndexDay) -> None:
        ref = self._db.collection(INDICES).document(day.day.isoformat())
        try:
            ref.set(index_doc(day))
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        log.info("stored market index day", extra={"day": day.day.isoformat(), "published": day.published})

    def get(self, day: date) -> IndexDay | None:
        try:
            snap = self._db.collection(INDICES).document(day.isoformat()).get()
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        return _parse(snap.to_dict()) if snap.exists else None

    def latest(self, n_days_back: int = 7) -> IndexDay | None:
        """The newest published day among today (UTC) and the ``n_days_back`` days before it."""
        if n_days_back < 0:
            raise ValueError("n_days_back must not be negative")
        today = self._clock.now().date()
        refs = [
            self._db.collection(INDICES).document((today - timedelta(days=i)).isoformat())
            for i in range(n_days_back + 1)
        ]
        try:
            snaps = list(self._db.get_all(refs))
        except TRANSIENT as e:
            raise DependencyUnavailable("the database is temporarily unavailable") from e
        found = [_parse(s.to_dict()) for s in snaps if s.exists and (s.to_dict() or {}).get(_PUBLISHED)]
        return max(found, key=lambda d: d.day, default=None)


def _parse(data: dict[str, Any] | None) -> IndexDay:
    fields = {k: v for k, v in (data or {}).items() if k != _PUBLISHED}
    return IndexDay.model_validate(fields)
