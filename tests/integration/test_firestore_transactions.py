"""``firestore_transactions.run_read_write`` on the Firestore emulator: a transaction begun by its first read keeps
every guarantee of ``@firestore.transactional`` with one round trip fewer.

Firestore's ``BatchGetDocumentsRequest.new_transaction`` begins a transaction with the read and returns its id in the
read's response (Firestore RPC reference, ``google.firestore.v1.BatchGetDocumentsRequest``); the emulator does the
same. ``ABORTED`` on commit is the documented signal to run the transaction again; it is injected below by wrapping the
real client's commit RPC, since the emulator cannot be made to abort on cue.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from google.api_core import exceptions as gexc

from shared.adapters.firestore_direct_reads import Found
from shared.adapters.firestore_transactions import run_read_write
from shared.errors import DependencyUnavailable


class Rpcs:
    """Counts the real client's RPCs; ``abort_commits`` makes that many commits fail with ``ABORTED`` instead."""

    def __init__(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        api = client._firestore_api
        self.calls: Counter[str] = Counter()
        self.abort_commits = 0
        self.retry_ids: list[bytes] = []
        self._end = api.rollback
        for name in ("begin_transaction", "batch_get_documents", "commit", "rollback"):
            monkeypatch.setattr(api, name, self._counted(name, getattr(api, name)))

    def _counted(self, name: str, rpc: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            request = kwargs.get("request") or {}
            if name == "batch_get_documents" and "new_transaction" in request:
                self.retry_ids.append(request["new_transaction"].read_write.retry_transaction)
            if name == "commit" and self.abort_commits:
                self.abort_commits -= 1
                # The server ends a transaction it aborts: so does this stand-in, freeing its locks.
                self._end(request={"database": request["database"], "transaction": request["transaction"]})
                raise gexc.Aborted("Transaction lock timeout (injected)")
            return rpc(*args, **kwargs)

        return call


def add(ref: Any, amount: int, runs: list[int] | None = None) -> Any:
    """A body adding ``amount`` to the counter ``ref`` as it was read (``runs``: each value it read)."""

    def body(transaction: Any, found: list[Found]) -> int:
        now = int(found[0].fields["n"]) if found else 0
        if runs is not None:
            runs.append(now)
        transaction.set(ref, {"n": now + amount})
        return now + amount

    return body


def test_the_read_begins_the_transaction_one_round_trip_fewer(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = firestore_db.collection("counters").document("a")
    ref.set({"n": 1})
    rpcs = Rpcs(firestore_db, monkeypatch)
    assert run_read_write(firestore_db, [ref], add(ref, 2), max_attempts=3) == 3
    assert ref.get().to_dict() == {"n": 3}
    assert rpcs.calls == Counter({"batch_get_documents": 2, "commit": 1})  # the read, the commit, the check's get
    assert rpcs.calls["begin_transaction"] == 0


def test_a_missing_document_is_not_found_and_can_be_created(firestore_db: Any) -> None:
    ref = firestore_db.collection("counters").document("new")

    def create(transaction: Any, found: list[Found]) -> int:
        assert found == []
        transaction.set(ref, {"n": 5})
        return 5

    assert run_read_write(firestore_db, [ref], create, max_attempts=3) == 5
    assert ref.get().to_dict() == {"n": 5}


def test_a_concurrent_transaction_waits_or_reruns_and_no_update_is_lost(firestore_db: Any) -> None:
    """Task B starts while A holds the document read: whichever commits second sees the first one's write."""
    ref = firestore_db.collection("counters").document("shared")
    ref.set({"n": 0})
    other: list[threading.Thread] = []

    def first(transaction: Any, found: list[Found]) -> int:
        if not other:
            thread = threading.Thread(
                target=run_read_write, args=(firestore_db, [ref], add(ref, 10)), kwargs={"max_attempts": 5}
            )
            other.append(thread)
            thread.start()
            thread.join(timeout=0.5)  # B is blocked by A's lock, or commits and makes A run again
        return int(add(ref, 1)(transaction, found))

    run_read_write(firestore_db, [ref], first, max_attempts=5)
    other[0].join(timeout=60)
    assert ref.get().to_dict() == {"n": 11}


def test_an_aborted_commit_runs_the_body_again_on_a_retry_transaction(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = firestore_db.collection("counters").document("retried")
    ref.set({"n": 7})
    rpcs = Rpcs(firestore_db, monkeypatch)
    rpcs.abort_commits = 1
    runs: list[int] = []
    assert run_read_write(firestore_db, [ref], add(ref, 1, runs), max_attempts=3) == 8
    assert runs == [7, 7]
    assert ref.get().to_dict() == {"n": 8}
    # The second attempt names the first, aborted transaction (keeping its place in line); the first names none.
    first, second = rpcs.retry_ids
    assert first == b""
    assert second != b""


def test_contention_on_every_attempt_is_a_retryable_failure_and_writes_nothing(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = firestore_db.collection("counters").document("contended")
    ref.set({"n": 1})
    rpcs = Rpcs(firestore_db, monkeypatch)
    rpcs.abort_commits = 3
    with pytest.raises(DependencyUnavailable) as raised:
        run_read_write(firestore_db, [ref], add(ref, 1), max_attempts=3)
    assert isinstance(raised.value.__cause__, gexc.Aborted)
    assert ref.get().to_dict() == {"n": 1}


def test_a_failing_body_rolls_back_and_frees_the_document_at_once(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = firestore_db.collection("counters").document("failing")
    ref.set({"n": 1})
    rpcs = Rpcs(firestore_db, monkeypatch)

    def failing(transaction: Any, found: list[Found]) -> int:
        transaction.set(ref, {"n": 999})
        raise RuntimeError("a bug in the change")

    with pytest.raises(RuntimeError, match="a bug in the change"):
        run_read_write(firestore_db, [ref], failing, max_attempts=3)
    assert rpcs.calls["rollback"] == 1
    assert rpcs.calls["commit"] == 0
    assert run_read_write(firestore_db, [ref], add(ref, 1), max_attempts=1) == 2  # not blocked by a lock left behind
    assert ref.get().to_dict() == {"n": 2}
