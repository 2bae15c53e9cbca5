"""The history backfill planned when a provider is connected: which days, in which chunks, under which task names.

The backfill covers ``days`` UTC days ending today (today included: the dashboard shows something at once; the
daily sync re-pulls recent days as the providers restate them). It is split into windows of at most
``CHUNK_DAYS`` days, oldest first, because both providers return at most 31 daily buckets per usage page: one
window is then one page per report, and one task stays well inside the worker's timeout.

Task names derive from (enterprise, provider, window), so enqueuing the same backfill again (a retried connect,
a re-connect on the same day) names the same tasks and Cloud Tasks keeps one of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.domain.enterprise.model import ProviderName
from shared.ports import TaskSpec

CHUNK_DAYS = 31
"""Daily buckets per usage page for both providers (OpenAI usage, Anthropic usage and cost reports)."""
SYNC_WORKER = "sync_worker"
BACKFILL_REASON = "backfill"


@dataclass(frozen=True)
class BackfillWindow:
    """UTC days ``[start, end_exclusive)``."""

    start: date
    end_exclusive: date

    @property
    def days(self) -> int:
        return (self.end_exclusive - self.start).days


def backfill_span(today: date, days: int) -> BackfillWindow:
    """The ``days`` UTC days ending with ``today``."""
    if days < 1:
        raise ValueError("a backfill covers at least one day")
    end_exclusive = today + timedelta(days=1)
    return BackfillWindow(end_exclusive - timedelta(days=days), end_exclusive)


def split_windows(span: BackfillWindow, chunk_days: int = CHUNK_DAYS) -> list[BackfillWindow]:
    """``span`` cut into consecutive windows of at most ``chunk_days`` days, oldest first."""
    windows = []
    start = span.start
    while start < span.end_exclusive:
        end = min(start + timedelta(days=chunk_days), span.end_exclusive)
        windows.append(BackfillWindow(start, end))
        start = end
    return windows


def backfill_task_name(enterprise_id: str, provider: ProviderName, window: BackfillWindow) -> str:
    return f"backfill-{enterprise_id}-{provider.value}-{window.start:%Y%m%d}-{window.end_exclusive:%Y%m%d}"


def backfill_payload(enterprise_id: str, provider: ProviderName, window: BackfillWindow) -> dict[str, Any]:
    """The ``sync_worker`` task body; see ``shared.services.connections.connect_provider`` for its contract."""
    return {
        "enterprise_id": enterprise_id,
        "providers": [provider.value],
        "start": window.start.isoformat(),
        "end": window.end_exclusive.isoformat(),
        "reason": BACKFILL_REASON,
    }


def backfill_tasks(enterprise_id: str, provider: ProviderName, span: BackfillWindow) -> list[TaskSpec]:
    """The named ``sync_worker`` tasks that pull ``span`` for one provider: the same names for the same span, so
    whoever enqueues them (connect, or the worker resuming a pending backfill) never doubles the work."""
    return [
        TaskSpec(
            name=backfill_task_name(enterprise_id, provider, window),
            function=SYNC_WORKER,
            payload=backfill_payload(enterprise_id, provider, window),
        )
        for window in split_windows(span)
    ]
