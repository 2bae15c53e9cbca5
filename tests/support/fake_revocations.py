"""A behaving fake of ``TokenRevocations``: accounts revoked from a point in time on."""

from __future__ import annotations


class FakeRevocations:
    def __init__(self) -> None:
        self.valid_after: dict[str, float] = {}
        self.asked: list[str] = []

    def revoke(self, uid: str, at: float) -> None:
        self.valid_after[uid] = at

    def revoked(self, uid: str, authenticated_at: float | None) -> bool:
        self.asked.append(uid)
        after = self.valid_after.get(uid)
        return after is not None and (authenticated_at is None or authenticated_at < after)
