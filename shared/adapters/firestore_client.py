"""The Firestore client: created lazily, once per instance, behind one accessor.

With ``FIRESTORE_EMULATOR_HOST`` set (the local stack and tests) the client library talks to the emulator; the
setting lives in ``Settings`` and the library reads the same environment variable.

Server-streaming reads on the calling thread. A batched read (``BatchGetDocuments``) and a query (``RunQuery``)
answer with one message per document. By default gRPC hands each message from its channel thread to the reading
thread (a lock and a wake-up per document, each needing the interpreter lock): a benchmark run, which reads 20,000
documents while its reads overlap, spent more of its time there than decoding them. The channel is created with
gRPC's ``SingleThreadedUnaryStream`` option instead, so the reading thread takes its messages off the connection
itself; the calls, their deadlines, retries and errors are the same (``devstack/bench_benchmarks.py``: the inputs'
reading took 30 to 45% less processor time). The client builds its channel in two places, the production endpoint's and
the emulator's; both are given the option here (``_CallerStreams``), the emulator's with the options the client
gives it. Relies on the client's ``_firestore_api_helper``, ``_emulator_channel`` and ``_GRPC_MSG_SIZE_OPTIONS``,
stable in the pinned client version (``uv.lock``); ``tests/integration/test_firestore_client.py`` checks the option
reaches both channels.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from shared.config import Settings

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def firestore_client(settings: Settings) -> Any:
    """The instance's ``google.cloud.firestore.Client`` for the settings' project."""
    key = f"{settings.project_id}|{settings.firestore_emulator_host}"
    with _lock:
        client = _clients.get(key)
        if client is None:
            client_class = _client_class()
            if settings.firestore_emulator_host:
                from google.auth.credentials import AnonymousCredentials

                client = client_class(project=settings.project_id, credentials=AnonymousCredentials())
            else:
                client = client_class(project=settings.project_id)
            _clients[key] = client
        return client


def reset_clients() -> None:
    """Forget cached clients (tests that switch emulators call this)."""
    with _lock:
        _clients.clear()


@functools.cache
def _client_class() -> Any:
    """``firestore.Client`` with its channels reading streams on the calling thread (see the module docs); built on
    first use, so importing this module imports no Google client."""
    import grpc
    from google.cloud import firestore
    from google.cloud.firestore_v1 import base_client
    from google.cloud.firestore_v1.services.firestore import client as gapic_module
    from google.cloud.firestore_v1.services.firestore.transports.grpc import FirestoreGrpcTransport

    caller_streams = (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)

    class _CallerStreamsTransport(FirestoreGrpcTransport):
        @classmethod
        def create_channel(cls, *args: Any, **kwargs: Any) -> grpc.Channel:
            kwargs["options"] = [*(kwargs.get("options") or ()), caller_streams]
            return super().create_channel(*args, **kwargs)

    class _CallerStreams(firestore.Client):
        @property
        def _firestore_api(self) -> Any:
            return self._firestore_api_helper(_CallerStreamsTransport, gapic_module.FirestoreClient, gapic_module)

        def _emulator_channel(self, transport: Any) -> grpc.Channel:
            # The client's own emulator channel (its token header and message sizes), with the option.
            token = getattr(self._credentials, "id_token", None) or "owner"
            options = [("Authorization", f"Bearer {token}"), *base_client._GRPC_MSG_SIZE_OPTIONS, caller_streams]
            return grpc.insecure_channel(self._emulator_host, options=options)

    return _CallerStreams
