"""A loopback HTTP server standing in for internal functions not built yet: it records every POST and answers 200.

Point ``FUNCTION_BASE_URL`` at ``base_url``; Cloud Tasks (or its emulator) then delivers ``{base_url}/{function}``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def task_id(self) -> str:
        return self.headers.get("x-cloudtasks-taskname", "")


class TaskRecorder:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with recorder._changed:
                    recorder.deliveries.append(Delivery(self.path, headers, body))
                    recorder._changed.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # tests read deliveries, not access logs

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="task-recorder", daemon=True)
        self._thread.start()

    def wait_for(self, done: Callable[[list[Delivery]], bool], timeout_s: float = 15.0) -> list[Delivery]:
        """Wait until ``done(deliveries)``; returns a snapshot. Raises ``AssertionError`` on timeout."""
        with self._changed:
            if not self._changed.wait_for(lambda: done(self.deliveries), timeout=timeout_s):
                raise AssertionError(f"deliveries did not arrive within {timeout_s}s (have {len(self.deliveries)})")
            return list(self.deliveries)

    def snapshot(self) -> list[Delivery]:
        with self._changed:
            return list(self.deliveries)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
