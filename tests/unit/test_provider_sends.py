"""The send gate: CPU work of a task waits until the requests holding a slot are written, and never for long."""

from __future__ import annotations

import asyncio

import pytest

from shared.adapters import provider_sends
from shared.adapters.provider_sends import SendGate, send_gate

pytestmark = pytest.mark.anyio


async def _turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_parsing_waits_until_every_request_holding_a_slot_is_written() -> None:
    gate = SendGate()
    first, second = gate.request(), gate.request()
    settled = asyncio.ensure_future(gate.settled())
    await _turns(5)
    assert not settled.done()
    await first.trace("http11.send_request_body.complete", {})
    await _turns(5)
    assert not settled.done()  # the other request is still unwritten
    second.done()
    await asyncio.wait_for(settled, 1)


async def test_a_request_is_counted_written_once_whichever_marks_it_first() -> None:
    gate = SendGate()
    sending = gate.request()
    await sending.trace("http11.send_request_body.complete", {})
    sending.done()  # the request's ``finally`` after its trace event: no double count
    pending = gate.request()
    settled = asyncio.ensure_future(gate.settled())
    await _turns(5)
    assert not settled.done()
    pending.done()
    await asyncio.wait_for(settled, 1)


async def test_a_request_stuck_before_writing_holds_parsing_back_no_longer_than_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(provider_sends, "MAX_WAIT_S", 0.01)
    gate = SendGate()
    gate.request()  # connecting, never written
    await asyncio.wait_for(gate.settled(), 1)


async def test_work_waiting_for_the_first_requests_starts_once_they_are_all_written() -> None:
    gate = SendGate()
    out = asyncio.ensure_future(gate.first_out())
    await _turns(5)
    assert not out.done()  # nothing written yet
    first, second = gate.request(), gate.request()
    first.done()
    await _turns(5)
    assert not out.done()  # one of them is still being written
    second.done()
    await asyncio.wait_for(out, 1)


async def test_work_waiting_for_requests_that_never_come_waits_no_longer_than_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(provider_sends, "MAX_WAIT_S", 0.01)
    await asyncio.wait_for(SendGate().first_out(), 1)


async def test_each_event_loop_has_a_gate_of_its_own() -> None:
    here = send_gate()
    assert send_gate() is here

    def other_loop() -> SendGate:
        async def get() -> SendGate:
            return send_gate()

        return asyncio.run(get())

    assert await asyncio.to_thread(other_loop) is not here
