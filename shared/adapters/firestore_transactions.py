"""Read-write transactions that begin with their first read: one round trip fewer than ``@firestore.transactional``.

The client library's ``@firestore.transactional`` sends ``BeginTransaction``, then the reads, then the commit: a
round trip before anything is read. Firestore also begins a transaction with a batched read that asks for one
(``BatchGetDocumentsRequest.new_transaction``: a response of the read carries the new transaction's id), so here the
first read begins it. The rest is the client's own: the reads and writes that follow go through a ``Transaction``
given that id (``Transaction.get`` of a query, ``set``), and its ``_commit`` and ``_rollback`` end it. A commit that
loses to a concurrent writer (``ABORTED``) runs the whole body again, in a transaction that names the first aborted
one as its ``retry_transaction`` (keeping its place in line), as ``@firestore.transactional`` does. Relies on
``Transaction._id``, ``_commit``, ``_rollback`` and ``in_progress``, stable in the pinned client version
(``uv.lock``); ``tests/integration/test_firestore_transactions.py`` checks the behaviour on the emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from google.api_core import exceptions as gexc

from shared.adapters.firestore_direct_reads import Found, begin_with_read
from shared.adapters.firestore_errors import translated
from shared.errors import DependencyUnavailable

T = TypeVar("T")

BUSY = "the document is busy with concurrent writes; try again"


def run_read_write(
    client: Any,
    refs: Sequence[Any],
    body: Callable[[Any, list[Found]], T],
    *,
    max_attempts: int,
    field_paths: Sequence[str] | None = None,
) -> T:
    """``body(transaction, found)`` in a read-write transaction begun by reading ``refs`` (``found``: those that
    exist, with their versions, locked until the commit; ``field_paths``: only these fields are read). ``body`` may
    read more through ``transaction`` (reads first, as Firestore requires) and writes through it; it runs again, from
    the read, each time the commit loses to a concurrent writer, so it must have no other side effect. Raises
    ``DependencyUnavailable`` when the database is unavailable or the documents stay contended for ``max_attempts``
    attempts; ``body``'s own errors roll the transaction back and are raised as they are."""
    from google.cloud.firestore_v1.types import common

    retry_id: bytes | None = None
    aborted: gexc.Aborted | None = None
    for _ in range(max_attempts):
        options = common.TransactionOptions(
            read_write=common.TransactionOptions.ReadWrite(retry_transaction=retry_id or b"")
        )
        transaction = client.transaction(max_attempts=1)
        try:
            with translated():
                try:
                    began, found = begin_with_read(client, refs, options, field_paths=field_paths)
                except gexc.Aborted as e:  # contended already at the read: the read begins again
                    aborted = e
                    continue
            if not began:
                raise DependencyUnavailable("the database began no transaction with the read")
            transaction._id = began
            retry_id = retry_id or began
            result = body(transaction, found)
        except BaseException:
            if transaction.in_progress:
                _roll_back(transaction)
            raise
        try:
            with translated():
                try:
                    transaction._commit()
                except gexc.Aborted as e:  # a concurrent writer committed first: the server ended this one
                    aborted = e
                    continue
        except BaseException:
            if transaction.in_progress:
                _roll_back(transaction)
            raise
        return result
    raise DependencyUnavailable(BUSY) from aborted


def _roll_back(transaction: Any) -> None:
    """Free the transaction's locks at once; a failing rollback must not hide the error that caused it."""
    try:
        transaction._rollback()
    except gexc.GoogleAPICallError:
        transaction._clean_up()
