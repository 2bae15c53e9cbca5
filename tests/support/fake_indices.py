"""An in-memory ``IndexStore`` with the Firestore adapter's semantics."""

from __future__ import annotations

from datetime import date, timedelta

from shared.domain.peers.index_models import IndexDay
from shared.ports import Clock


class FakeIndexStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.docs: dict[date, IndexDay] = {}

    def put(self, day: IndexDay) -> None:
        self.docs[day.day] = day

    def get(self, day: date) -> IndexDay | None:
        return self.docs.get(day)

    def latest(self, n_days_back: int = 7) -> IndexDay | None:
        today = self.clock.now().date()
        window = {today - timedelta(days=i) for i in range(n_days_back + 1)}
        found = [d for day, d in self.docs.items() if day in window and d.published]
        return max(found, key=lambda d: d.day, default=None)
