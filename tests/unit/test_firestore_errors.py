"""Firestore failures a retry can fix reach the use cases as ``DependencyUnavailable``, and nothing else does."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from shared.adapters.firestore_errors import translated
from shared.errors import DependencyUnavailable


def _exhausted_transaction() -> ValueError:
    """What google-cloud-firestore raises once a transaction has lost every attempt."""
    error = ValueError("Failed to commit transaction in 5 attempts.")
    error.__cause__ = gexc.Aborted("Transaction lock timeout.")
    return error


def _fail(error: Exception) -> None:
    raise error


@pytest.mark.parametrize(
    "failure",
    [gexc.ServiceUnavailable("down"), gexc.DeadlineExceeded("slow"), gexc.ResourceExhausted("quota")],
    ids=["unavailable", "deadline", "quota"],
)
def test_what_a_retry_can_fix_is_dependency_unavailable(failure: Exception) -> None:
    with pytest.raises(DependencyUnavailable), translated():
        _fail(failure)
    with pytest.raises(DependencyUnavailable), translated():
        _fail(_exhausted_transaction())


def test_a_programming_error_is_not_disguised_as_an_outage() -> None:
    with pytest.raises(ValueError, match="bad field"), translated():
        _fail(ValueError("bad field"))
    with pytest.raises(gexc.PermissionDenied), translated():
        _fail(gexc.PermissionDenied("rules"))
