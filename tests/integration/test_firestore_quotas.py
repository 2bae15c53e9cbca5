"""Quota counters on the Firestore emulator: concurrent takes never count past the limit, windows are fixed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.firestore_quotas import QUOTAS, FirestoreQuotas

NOW = datetime(2026, 11, 23, 23, 59, 30, tzinfo=UTC)


def test_four_concurrent_takes_of_a_limit_of_two_count_two(firestore_db: Any) -> None:
    """Each take reads the count and writes count + 1: without a transaction, takes that read the same count would
    all pass. The barrier starts them together so their reads and writes interleave."""
    quotas = FirestoreQuotas(firestore_db)
    start = threading.Barrier(4)

    def take(_: int) -> int | None:
        start.wait()
        return quotas.take("invites", "ent_a", limit=2, window_s=86400, now=NOW)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(take, range(4)))

    assert answers.count(None) == 2
    assert sorted(a for a in answers if a is not None) == [30] * 2  # seconds to midnight UTC
    [doc] = list(firestore_db.collection(QUOTAS).stream())
    assert doc.to_dict()["count"] == 2
    assert "ent_a" not in doc.id  # subjects are hashed


def test_a_new_window_and_another_subject_start_from_zero(firestore_db: Any) -> None:
    quotas = FirestoreQuotas(firestore_db)
    assert quotas.take("invites", "ent_a", limit=1, window_s=86400, now=NOW) is None
    assert quotas.take("invites", "ent_a", limit=1, window_s=86400, now=NOW) == 30
    assert quotas.take("invites", "ent_b", limit=1, window_s=86400, now=NOW) is None
    assert quotas.take("connect_attempts", "ent_a", limit=1, window_s=3600, now=NOW) is None
    assert quotas.take("invites", "ent_a", limit=1, window_s=86400, now=NOW + timedelta(seconds=30)) is None
