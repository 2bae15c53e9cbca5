"""How Firestore's failures reach the use cases: ``DependencyUnavailable`` for whatever a later retry can fix.

One place for every Firestore adapter, so a transaction that keeps losing to concurrent writers is a retryable
``DependencyUnavailable`` everywhere (the client library reports it as a ``ValueError`` whose cause is ``Aborted``),
never a raw error that would fail a request or a task with a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from google.api_core import exceptions as gexc

from shared.errors import DependencyUnavailable

TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.Aborted,
    gexc.ResourceExhausted,
)
"""Errors of one call that the same call may not meet again: unavailable, slow, overloaded or contended."""


@contextmanager
def translated() -> Iterator[None]:
    """Raise ``DependencyUnavailable`` for a transient failure or a transaction that ran out of attempts."""
    try:
        yield
    except TRANSIENT as e:
        raise DependencyUnavailable("the database is temporarily unavailable") from e
    except ValueError as e:
        if isinstance(e.__cause__, gexc.Aborted):
            raise DependencyUnavailable("the document is busy with concurrent writes; try again") from e
        raise
