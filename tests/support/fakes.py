"""Behaving fakes of the project's own ports: they store and return values, and are asserted on outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.enterprise import Enterprise, Membership


class FixedClock:
    """A clock that stays where it is put."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class FakeEnterpriseStore:
    """In-memory ``EnterpriseStore`` with Firestore's create-if-absent semantics."""

    def __init__(self) -> None:
        self.docs: dict[str, Enterprise] = {}

    def create(self, enterprise: Enterprise) -> tuple[Enterprise, bool]:
        if enterprise.id in self.docs:
            return self.docs[enterprise.id], False
        self.docs[enterprise.id] = enterprise
        return enterprise, True

    def get(self, enterprise_id: str) -> Enterprise | None:
        return self.docs.get(enterprise_id)

    def memberships_for(self, uid: str) -> list[Membership]:
        return sorted(
            (
                Membership(enterprise_id=e.id, role=e.members[uid].role)
                for e in self.docs.values()
                if uid in e.members and e.status == "active"
            ),
            key=lambda m: m.enterprise_id,
        )
