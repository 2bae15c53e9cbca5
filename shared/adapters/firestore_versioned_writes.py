"""Writes that hold only while documents are still at the versions read: optimistic concurrency in one round trip.

A read-modify-write whose read was made earlier, outside any transaction, can still commit safely: each document it
depends on carries a precondition (Firestore's ``Precondition.update_time``, or ``exists=False`` for one that was
absent), so the commit applies all of its writes only if none of those documents was written since, and nothing
otherwise (``FAILED_PRECONDITION`` / ``ALREADY_EXISTS``; a commit that a transaction's lock delays meets that
transaction's version, one it fails is ``ABORTED``: Firestore's "Data contention in transactions"). The caller then
runs its read-modify-write again, in a transaction. A read-modify-write that finds nothing to write confirms instead
that the documents are still at those versions, with one read: its "nothing to do" holds at that read.

The writes go through the client's ``WriteBatch``; the client's own write option (``Client.write_option``) sets the
precondition on the batch's last write (``WriteBatch._write_pbs``, stable in the pinned client version, ``uv.lock``;
checked on the emulator by ``tests/integration/test_firestore_versioned_writes.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.api_core import exceptions as gexc

from shared.adapters.firestore_direct_reads import read_versions
from shared.adapters.firestore_errors import translated

Version = Any
"""A document's ``update_time`` as read (``None``: the document did not exist)."""


def commit_at_versions(
    client: Any, writes: Sequence[tuple[Any, dict[str, Any]]], versions: Mapping[str, Version]
) -> bool:
    """Set each ``(reference, document)`` of ``writes`` whole, in one commit that holds only while every document
    named in ``versions`` (by path; each must be among ``writes``) is at its version. ``False``: nothing was written
    (one was written since, or the commit lost to a concurrent transaction). Raises ``DependencyUnavailable`` when
    the database is unavailable."""
    if not versions.keys() <= {ref.path for ref, _ in writes}:
        raise ValueError("a version can only be checked on a document the commit writes")
    batch = client.batch()
    for ref, document in writes:
        batch.set(ref, document)
        if ref.path in versions:
            version = versions[ref.path]
            option = (
                client.write_option(exists=False) if version is None else client.write_option(last_update_time=version)
            )
            option.modify_write(batch._write_pbs[-1])
    with translated():
        try:
            batch.commit()
        except (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.Aborted):
            return False  # written since (or contended by a transaction): the caller's transaction decides
    return True


def still_at_versions(client: Any, refs: Sequence[Any], versions: Mapping[str, Version], field_path: str) -> bool:
    """Whether every document of ``refs`` is still at its version in ``versions`` (by path), in one read that asks
    each for ``field_path`` only. Raises ``DependencyUnavailable`` when the database is unavailable."""
    now = {found.reference.path: found.update_time for found in read_versions(client, refs, field_paths=[field_path])}
    return all(now.get(ref.path) == versions.get(ref.path) for ref in refs)
