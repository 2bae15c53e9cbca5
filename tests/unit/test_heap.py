"""``shared.web.heap``: the instance's heap leaves the full collections once, after its first request."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.web import heap


@pytest.fixture
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(heap, "_frozen", False)
    yield
    gc.unfreeze()  # the test process's heap goes back to the collector


def test_the_first_call_freezes_what_the_instance_holds_and_later_calls_do_nothing(
    fresh_process_state: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = [[i] for i in range(1000)]  # stands for the modules and clients a warm instance holds

    assert heap.freeze_once() is True
    assert gc.get_freeze_count() >= len(held)
    # Later calls freeze nothing. Counted on the call itself, not on the process's freeze count: a server thread
    # left by another test of this process may serve a request (and freeze) meanwhile.
    freezes: list[None] = []
    monkeypatch.setattr(heap, "gc", _Spy(freezes))
    assert heap.freeze_once() is False
    assert freezes == []


class _Spy:
    def __init__(self, freezes: list[None]) -> None:
        self._freezes = freezes

    def collect(self) -> int:
        return 0

    def freeze(self) -> None:
        self._freezes.append(None)
