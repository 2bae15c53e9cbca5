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


def test_the_first_call_freezes_what_the_instance_holds_and_later_calls_do_nothing(fresh_process_state: None) -> None:
    held = [[i] for i in range(1000)]  # stands for the modules and clients a warm instance holds

    assert heap.freeze_once() is True
    frozen = gc.get_freeze_count()
    assert frozen >= len(held)
    assert heap.freeze_once() is False
    assert gc.get_freeze_count() == frozen
