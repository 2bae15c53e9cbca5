"""httpcore reports a request written the way the send gate listens for it (``provider_sends._SENT``), on a real
connection: if a new httpcore renamed its trace events, parsing would wait out ``MAX_WAIT_S`` on every page."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.adapters.provider_sends import _SENT

pytestmark = pytest.mark.anyio


async def test_a_request_written_on_a_real_connection_is_reported_before_its_answer_is_read() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    events: list[str] = []

    async def trace(name: str, info: dict[str, object]) -> None:
        events.append(name)

    async with server, httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/v1/usage", extensions={"trace": trace})
    assert response.json() == {}
    written = [i for i, name in enumerate(events) if name.endswith(_SENT)]
    read = [i for i, name in enumerate(events) if name.endswith("receive_response_headers.started")]
    assert written, events
    assert read, events
    assert written[0] < read[0], events
