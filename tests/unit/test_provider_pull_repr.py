"""A provider pull's repr names its window, not its records: asyncio formats the task that returned the pulls."""

from __future__ import annotations

from datetime import date, timedelta

from shared.domain.usage.records import Provider, ProviderPull
from tests.support.usage_days import openai_day


def test_a_months_pull_reprs_in_one_short_line_naming_provider_window_and_sizes() -> None:
    start = date(2026, 10, 1)
    days = [start + timedelta(days=i) for i in range(31)]
    pages = tuple({"report": "usage", "body": {"data": ["x" * 1000] * 50}} for _ in range(11))
    pull = ProviderPull(
        provider=Provider.OPENAI,
        start=start,
        end_exclusive=start + timedelta(days=31),
        days={d: openai_day(d, scale=40) for d in days},
        price_data_version="test",
        raw_pages=pages,
    )
    text = repr(pull)
    assert len(text) < 200
    for part in ("openai", "2026, 10, 1", "2026, 11, 1", "days=31", "raw_pages=11"):
        assert part in text.lower()
