"""Requests go out before pages are parsed: one event loop's provider requests that hold a slot but are not yet on the
wire, and a way for the CPU work of a task (decoding a page, building its days) to wait for them.

A task pulls every provider on one event loop, and the loop also parses what arrives. When a response frees a request
slot, the request waiting for it needs a few turns of the loop (take a pooled connection, write its headers) before
the provider even sees it; parsing the page that freed the slot first (tens of milliseconds for a month of costs)
delays that request, and the provider's latency only starts once it arrives. Measured on the sync bench: requests of
the second round reached the provider 25 to 40 ms after their slot was freed. So before decoding a page or building a
pull's days, a coroutine waits (briefly, never longer than ``MAX_WAIT_S``) until every request holding a slot on its
loop has written its body (httpcore's ``trace`` extension says when).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

MAX_WAIT_S = 0.05
"""The longest CPU work waits for requests to go out: a request stuck connecting must not hold a parsed page back."""

_SENT = "send_request_body.complete"
"""The end of httpcore's ``http11.send_request_body`` and ``http2.send_request_body`` trace events."""


class SendGate:
    """The requests of one event loop that hold a slot but have not been written yet."""

    def __init__(self) -> None:
        self._unsent = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._any_written = asyncio.Event()

    def request(self) -> Sending:
        """A request that just took its slot: ``Sending.done`` (or its trace event) marks it written."""
        self._unsent += 1
        self._idle.clear()
        return Sending(self)

    def _written(self) -> None:
        self._any_written.set()
        self._unsent -= 1
        if self._unsent == 0:
            self._idle.set()

    async def settled(self) -> None:
        """Return once no request of this loop waits to be written (or after ``MAX_WAIT_S``). The first turn of the
        loop lets a request waiting for a just-freed slot take it."""
        await asyncio.sleep(0)
        if self._idle.is_set():
            return
        try:
            await asyncio.wait_for(self._idle.wait(), MAX_WAIT_S)
        except TimeoutError:
            return

    async def first_out(self) -> None:
        """Return once this loop's first requests are written: one was, and none waits to be (each wait bounded by
        ``MAX_WAIT_S``). CPU work that need not come first starts then, not while they are being written."""
        try:
            async with asyncio.timeout(MAX_WAIT_S):
                await self._any_written.wait()
        except TimeoutError:
            return
        await self.settled()


class Sending:
    """One request on its way out; marks itself written once, whichever comes first: its trace event or ``done``."""

    def __init__(self, gate: SendGate) -> None:
        self._gate: SendGate | None = gate

    async def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension callback."""
        if name.endswith(_SENT):
            self.done()

    def done(self) -> None:
        if self._gate is not None:
            gate, self._gate = self._gate, None
            gate._written()


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendGate] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def send_gate() -> SendGate:
    """The running loop's gate (each task runs its pulls on a loop of its own, in its own thread)."""
    loop = asyncio.get_running_loop()
    with _lock:
        gate = _gates.get(loop)
        if gate is None:
            gate = _gates[loop] = SendGate()
        return gate
