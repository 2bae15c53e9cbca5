"""A behaving fake of ``InviteDeclines``."""

from __future__ import annotations

from datetime import datetime


class FakeInviteDeclines:
    def __init__(self) -> None:
        self.by_email: dict[str, dict[str, datetime]] = {}

    def declined(self, email: str) -> frozenset[str]:
        return frozenset(self.by_email.get(email, {}))

    def decline(self, email: str, enterprise_id: str, at: datetime) -> None:
        self.by_email.setdefault(email, {}).setdefault(enterprise_id, at)
