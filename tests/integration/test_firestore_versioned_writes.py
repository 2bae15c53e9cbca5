"""``firestore_versioned_writes`` on the Firestore emulator: a commit that holds only while documents are still at the
versions read, and the read that confirms them.

Firestore applies a write's ``current_document`` precondition (``update_time``: the document was last updated then;
``exists=False``: it does not exist) atomically with the whole commit, and refuses the commit otherwise
(``FAILED_PRECONDITION``, ``ALREADY_EXISTS``; Firestore RPC reference, ``google.firestore.v1.Precondition`` and
``Write.current_document``).
"""

from __future__ import annotations

from typing import Any

from shared.adapters.firestore_direct_reads import read_versions
from shared.adapters.firestore_versioned_writes import commit_at_versions, still_at_versions


def version(client: Any, ref: Any) -> Any:
    return next((found.update_time for found in read_versions(client, [ref])), None)


def test_a_commit_holds_while_its_documents_are_at_the_versions_read(firestore_db: Any) -> None:
    counter, log = firestore_db.document("versioned/counter"), firestore_db.document("versioned/log")
    counter.set({"n": 1})
    read = version(firestore_db, counter)
    assert commit_at_versions(firestore_db, [(counter, {"n": 2}), (log, {"last": 2})], {counter.path: read})
    assert counter.get().to_dict() == {"n": 2}
    assert log.get().to_dict() == {"last": 2}


def test_a_commit_after_a_concurrent_write_writes_nothing(firestore_db: Any) -> None:
    counter, log = firestore_db.document("versioned/counter"), firestore_db.document("versioned/log")
    counter.set({"n": 1})
    read = version(firestore_db, counter)
    counter.set({"n": 5})  # another task, between our read and our commit
    assert not commit_at_versions(firestore_db, [(log, {"last": 2}), (counter, {"n": 2})], {counter.path: read})
    assert counter.get().to_dict() == {"n": 5}
    assert not log.get().exists  # all or nothing


def test_a_document_absent_when_read_must_still_be_absent(firestore_db: Any) -> None:
    fresh = firestore_db.document("versioned/fresh")
    assert version(firestore_db, fresh) is None
    assert commit_at_versions(firestore_db, [(fresh, {"n": 1})], {fresh.path: None})
    assert not commit_at_versions(firestore_db, [(fresh, {"n": 9})], {fresh.path: None})  # created since
    assert fresh.get().to_dict() == {"n": 1}


def test_the_versions_read_are_confirmed_by_one_read(firestore_db: Any) -> None:
    a, b = firestore_db.document("versioned/a"), firestore_db.document("versioned/b")
    a.set({"n": 1})
    versions = {a.path: version(firestore_db, a), b.path: None}
    assert still_at_versions(firestore_db, [a, b], versions, "n")
    b.set({"n": 1})
    assert not still_at_versions(firestore_db, [a, b], versions, "n")
    a.set({"n": 2})
    assert not still_at_versions(firestore_db, [a], versions, "n")
