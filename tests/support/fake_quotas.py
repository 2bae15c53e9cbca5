"""A behaving fake of ``QuotaCounter``: fixed windows, counted in memory."""

from __future__ import annotations

import math
from datetime import datetime


class FakeQuotaCounter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}

    def take(self, quota: str, subject: str, *, limit: int, window_s: int, now: datetime) -> int | None:
        epoch = now.timestamp()
        window = int(epoch // window_s)
        key = (quota, subject, window)
        if self.counts.get(key, 0) >= limit:
            return max(1, math.ceil((window + 1) * window_s - epoch))
        self.counts[key] = self.counts.get(key, 0) + 1
        return None
