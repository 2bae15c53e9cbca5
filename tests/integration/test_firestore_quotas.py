"""Quota counters on the Firestore emulator: concurrent takes never count past the limit, windows are fixed."""

from __future__ import annotations

import threading
from collections.abc import Callable
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


class _TakeBetweenReadAndWrite(FirestoreQuotas):
    """Runs another request's take (in a thread, as another instance would) right after this take's first read."""

    def __init__(self, db: Any, other: Callable[[], int | None]) -> None:
        super().__init__(db)
        self._other: Callable[[], int | None] | None = other
        self.reads: list[int] = []
        self.other_answer: list[int | None] = []
        self.worker: threading.Thread | None = None

    def _read_count(self, transaction: Any, ref: Any) -> int:
        count = super()._read_count(transaction, ref)
        self.reads.append(count)
        other, self._other = self._other, None
        if other is not None:
            self.worker = threading.Thread(target=lambda: self.other_answer.append(other()))
            self.worker.start()
            # The other take runs now, while this transaction holds its read; give it time to reach its commit
            # (it may not finish: it waits on this transaction's lock) before this one writes.
            self.worker.join(timeout=0.5)
        return count


def test_a_take_committed_between_anothers_read_and_write_never_counts_past_the_limit(firestore_db: Any) -> None:
    """Request A reads the count (1 of a limit of 2); request B's whole take runs before A writes. Read-then-write
    without a transaction lets both write 2 and both pass; with it, exactly one passes and the count stays at 2."""
    plain = FirestoreQuotas(firestore_db)
    assert plain.take("invites", "ent_race", limit=2, window_s=86400, now=NOW) is None

    def request_b() -> int | None:
        return plain.take("invites", "ent_race", limit=2, window_s=86400, now=NOW)

    racing = _TakeBetweenReadAndWrite(firestore_db, request_b)
    answer_a = racing.take("invites", "ent_race", limit=2, window_s=86400, now=NOW)
    assert racing.worker is not None
    racing.worker.join(timeout=30)
    assert not racing.worker.is_alive()

    # A read 1 before B ran; its read lock made B wait for A's commit (Firestore gives the older transaction
    # precedence), so B read 2 and was refused. Without the transaction both would have written 2 and passed.
    assert racing.reads == [1]
    assert answer_a is None
    assert racing.other_answer == [30]
    [doc] = list(firestore_db.collection(QUOTAS).stream())
    assert doc.to_dict()["count"] == 2
