"""Behaving fakes of the project's own ports: they store and return values, and are asserted on outcomes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shared.domain.enterprise.audit import AuditEntry
from shared.domain.enterprise.model import Enterprise, Membership
from shared.errors import NotFound
from shared.ports import EnterpriseChange


class FixedClock:
    """A clock that stays where it is put."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, now: datetime) -> None:
        self._now = now


class FakeEnterpriseStore:
    """In-memory ``EnterpriseStore`` with Firestore's create-if-absent semantics.

    ``update`` is atomic like the Firestore transaction: an error raised by the change leaves the document and the
    audit log untouched. Audit entries written by ``update`` land in ``audit[enterprise_id][entry_id]``.
    """

    def __init__(self) -> None:
        self.docs: dict[str, Enterprise] = {}
        self.audit: dict[str, dict[str, AuditEntry]] = {}

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

    def invited_to(self, email: str) -> list[str]:
        return sorted(e.id for e in self.docs.values() if email in e.invites and e.status == "active")

    def update(self, enterprise_id: str, change: Callable[[Enterprise], EnterpriseChange | None]) -> Enterprise:
        current = self.docs.get(enterprise_id)
        if current is None:
            raise NotFound("enterprise not found", code="enterprise_not_found")
        # Like a transaction retry, the change may be applied more than once: run it twice on copies.
        change(current.model_copy(deep=True))
        result = change(current.model_copy(deep=True))
        if result is None:
            return current
        self.docs[enterprise_id] = result.enterprise
        for entry in result.audit:
            self.audit.setdefault(enterprise_id, {})[entry.id] = entry
        return result.enterprise
