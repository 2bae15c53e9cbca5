"""A webhook receiver that trickles its answer (one byte at a time, each inside the read timeout) cannot hold the
sender, and so the sync worker, past the delivery's total deadline. Real sockets on loopback, no mocks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from shared.adapters.webhook_http import HttpWebhookSender
from shared.config import Settings
from shared.errors import DependencyUnavailable
from tests.conftest import TEST_PROJECT

TRICKLE_S = 0.25
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Padding: " + b"x" * 60 + b"\r\n\r\n"  # ~20 s at 4 bytes/s


@pytest.fixture
def trickling_receiver() -> Iterator[tuple[str, threading.Event]]:
    """Accepts connections, reads the request, then sends its answer one byte every ``TRICKLE_S`` seconds."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                for byte in ANSWER:
                    if stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(TRICKLE_S)
            except OSError:
                return  # the sender hung up: what a deadline does

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook", stop
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def test_a_trickling_receiver_is_cut_off_at_the_delivery_deadline(
    trickling_receiver: tuple[str, threading.Event],
) -> None:
    url, _ = trickling_receiver
    settings = Settings(
        project_id=TEST_PROJECT,
        firebase_auth_emulator_host="127.0.0.1:9099",  # local mode: loopback receivers allowed
        webhook_timeout_s=1.0,  # each byte arrives well inside it
        webhook_deadline_s=1.5,
    )
    sender = HttpWebhookSender(settings)

    started = time.monotonic()
    with pytest.raises(DependencyUnavailable):
        sender.post(url, b"{}", {})
    elapsed = time.monotonic() - started

    assert elapsed < settings.webhook_deadline_s + 1.0, f"held for {elapsed:.1f} s"
