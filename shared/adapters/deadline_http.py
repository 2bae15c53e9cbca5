"""An httpx transport with a *total* deadline per request, for calls whose other end we do not trust.

httpx's timeouts apply to each network operation: a server that sends one byte every second never trips a 1 s read
timeout and can hold a caller for as long as it likes. Here every operation of a request (connect, TLS handshake,
write, each read) gets at most what is left of the request's deadline, and none starts once it has passed, so the
whole request ends by ``total_s`` whatever the other end does.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Callable

import httpcore
import httpx

Clock = Callable[[], float]


class _Deadline:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._ends = float("inf")

    def start(self, total_s: float) -> None:
        self._ends = self._clock() + total_s

    def left(self, timeout: float | None, error: type[Exception]) -> float:
        """The timeout for the next operation: ``timeout`` cut to what is left; ``error`` once nothing is left."""
        remaining = self._ends - self._clock()
        if remaining <= 0:
            raise error("the request's total deadline has passed")
        return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options), self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options), self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` (no retries, no proxies, one connection) whose requests each end by ``total_s``.

    Each ``handle_request`` starts the deadline; reading a streamed response body afterwards counts against it too.
    Not for concurrent use: one deadline per transport at a time.
    """

    def __init__(self, total_s: float, *, clock: Clock = time.monotonic) -> None:
        super().__init__(retries=0)
        self._total_s = total_s
        self._deadline = _Deadline(clock)
        # httpx keeps its httpcore pool in ``_pool``: the same pool, built with a backend that enforces the deadline.
        # tests/integration/test_webhook_deadline.py fails if an httpx upgrade stops using it.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=1,
            network_backend=_Backend(httpcore.SyncBackend(), self._deadline),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._deadline.start(self._total_s)
        return super().handle_request(request)
