"""The Firestore market-index store against the emulator."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.adapters.firestore_indices import INDICES, FirestoreIndices
from shared.domain.peers.index_basket import Basket
from shared.domain.peers.market_index import FRONTIER, IndexDay, index_for_day
from tests.support.fakes import FixedClock

TODAY = date(2026, 11, 20)


def store(db: Any) -> FirestoreIndices:
    return FirestoreIndices(db, FixedClock(datetime(2026, 11, 20, 23, 59, tzinfo=UTC)))


def unpublished(day: date) -> IndexDay:
    return index_for_day(day, Basket(version="empty", levels={}))


def test_a_day_round_trips_exactly_and_rewriting_it_changes_nothing(firestore_db: Any) -> None:
    indices = store(firestore_db)
    day = index_for_day(date(2026, 11, 2))
    indices.put(day)
    indices.put(day)
    assert indices.get(date(2026, 11, 2)) == day
    assert [d.id for d in firestore_db.collection(INDICES).stream()] == ["2026-11-02"]
    stored = firestore_db.collection(INDICES).document("2026-11-02").get().to_dict()
    assert stored["levels"][FRONTIER]["blended"] == "13.833333"
    assert stored["published"] is True
    assert indices.get(date(2026, 11, 3)) is None


def test_latest_is_the_newest_published_day_within_the_window(firestore_db: Any) -> None:
    indices = store(firestore_db)
    assert indices.latest() is None
    indices.put(index_for_day(date(2026, 11, 10)))
    indices.put(index_for_day(date(2026, 11, 17)))
    indices.put(unpublished(date(2026, 11, 19)))
    indices.put(index_for_day(date(2026, 11, 21)))  # after "today": not looked at
    latest = indices.latest()
    assert latest is not None
    assert latest.day == date(2026, 11, 17)
    assert indices.latest(n_days_back=2) is None
    assert indices.latest(n_days_back=10) == latest
