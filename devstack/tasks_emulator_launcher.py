"""Runs gcloud-tasks-emulator 0.6.2 with its gRPC API bound to loopback only.

Executed as a script by the emulator's own interpreter (``.tools/tasks-emulator/bin/python``), never imported by the
app: the emulator pins ``protobuf<5`` and lives in its own virtualenv. The command line is the emulator's own
(``start -p PORT -d QUEUE ...``).

Why a launcher: the shipped server listens on ``[::]`` (every interface). The emulator POSTs each task to whatever
URL the task names, with whatever headers it carries, so anyone on the network could make this machine call its own
loopback services, including the local stack, which accepts unsigned tokens. This script replaces the one method that
binds the port, and exits if the port cannot be bound (the shipped server would keep running without its API, and a
readiness probe could then mistake another process on that port for the emulator).
"""

from __future__ import annotations

import logging
import os
from concurrent import futures
from typing import Any

import grpc
from gcloud_tasks_emulator import server  # type: ignore[import-not-found]
from gcloud_tasks_emulator.__main__ import main  # type: ignore[import-not-found]

_API_WORKERS = 8
"""The shipped server has 2; fan-outs create tasks from up to 32 threads."""


def _serve_on_loopback(self: Any) -> None:
    self._httpd = grpc.server(futures.ThreadPoolExecutor(max_workers=_API_WORKERS))
    server.add_CloudTasksServicer_to_server(server.Greeter(self._state), self._httpd)
    address = f"127.0.0.1:{self._port}"
    try:
        bound = self._httpd.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        logging.getLogger("gcloud-tasks-emulator").error("[API] cannot bind %s: is the port in use?", address)
        os._exit(3)
    logging.getLogger("gcloud-tasks-emulator").info("[API] Starting API server at %s", address)
    self._httpd.start()


server.APIThread.run = _serve_on_loopback

if __name__ == "__main__":
    main()
