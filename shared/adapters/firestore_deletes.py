"""Deleting Firestore documents a page at a time: the building block of erasure and the retention sweep.

A page is one keys-only query (``select`` of the document id, so no document data is read) and one batched commit.
Deleted documents drop out of the query, so running the same query again yields the next page; a caller that stops
half-way (a timeout, a crash) loses nothing, and the next run simply continues.
"""

from __future__ import annotations

from typing import Any

from shared.adapters.firestore_errors import translated

MAX_PAGE = 500
"""Firestore's limit of writes per commit."""


def delete_page(db: Any, query: Any, limit: int) -> int:
    """Delete the first ``limit`` (at most 500) documents ``query`` matches, in one commit; returns how many."""
    from google.cloud.firestore_v1.field_path import FieldPath

    if limit < 1:
        raise ValueError("limit must be positive")
    page = query.select([FieldPath.document_id()]).limit(min(limit, MAX_PAGE))
    with translated():
        refs = [snap.reference for snap in page.stream()]
        if refs:
            batch = db.batch()
            for ref in refs:
                batch.delete(ref)
            batch.commit()
    return len(refs)
