"""``WebhookSender`` over HTTPS with httpx: resolve, refuse internal addresses, pin, POST, retry with backoff.

Server-side request forgery is the risk of any URL a customer gives us, so every send:

1. resolves the host and refuses the send (``webhook_destination_refused``, permanent) if *any* address it
   resolves to is not allowed (``shared.domain.webhook_url.address_allowed``: loopback only in local mode);
2. connects to the checked address itself (the URL's host replaced by the address, ``Host`` and TLS SNI kept as the
   name, so the certificate is still verified against the name): a DNS answer that changes between the check and
   the connection (rebinding) cannot redirect the request;
3. never follows redirects (a 3xx is a refusal) and ignores proxy settings from the environment; the URL is never
   logged (its path may hold a token, as chat webhooks' do), so httpx's client, which logs each URL, is not used.

Each ``post`` tries up to ``Settings.webhook_max_attempts`` times with exponential backoff on network errors,
timeouts, 429 and 5xx; then raises ``DependencyUnavailable`` and the alert is retried on a later sync. Any other
4xx is ``webhook_rejected`` (permanent). Response bodies are neither read into logs nor errors.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from shared.config import Settings
from shared.domain.webhook_url import address_allowed
from shared.errors import DependencyUnavailable, PlatformError

log = logging.getLogger(__name__)

USER_AGENT = "usage-tracking-alerts/1"
Resolver = Callable[[str, int], list[str]]


def _status(transport: httpx.BaseTransport, request: httpx.Request) -> int:
    """Send ``request`` and return the response's status; the body is never read (it could be endless)."""
    response = transport.handle_request(request)
    response.close()
    return response.status_code


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class HttpWebhookSender:
    """Implements ``shared.ports.WebhookSender``.

    Args:
        settings: ``webhook_timeout_s``, ``webhook_max_attempts``, ``webhook_backoff_*`` and local mode.
        transport: Replaces the network in tests of the retry policy.
        resolver: Replaces DNS in tests of the address checks.
        sleep: Replaces ``time.sleep`` between attempts.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = resolve,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._resolver = resolver
        self._sleep = sleep

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        target = httpx.URL(url)
        pinned, extensions = self._pin(target)
        request_headers = {
            **headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Host": target.netloc.decode("ascii"),
        }
        extensions["timeout"] = httpx.Timeout(self._settings.webhook_timeout_s).as_dict()
        attempts = self._settings.webhook_max_attempts
        last = "no attempt"
        # The transport is used directly: httpx's client logs every request's URL, whose path may hold a token.
        with self._transport or httpx.HTTPTransport(retries=0) as transport:
            for attempt in range(1, attempts + 1):
                request = httpx.Request("POST", pinned, content=body, headers=request_headers, extensions=extensions)
                try:
                    status = _status(transport, request)
                except httpx.TransportError as e:
                    last = type(e).__name__
                else:
                    if 200 <= status < 300:
                        log.info("webhook delivered", extra={"status": status, "attempt": attempt})
                        return
                    if status != 429 and status < 500:
                        raise PlatformError(f"the webhook refused the alert ({status})", code="webhook_rejected")
                    last = str(status)
                log.warning("webhook attempt failed", extra={"attempt": attempt, "outcome": last})
                if attempt < attempts:
                    self._sleep(self._backoff(attempt))
        raise DependencyUnavailable(f"the webhook did not accept the alert after {attempts} attempts ({last})")

    def _pin(self, target: httpx.URL) -> tuple[httpx.URL, dict[str, Any]]:
        """The URL to connect to (the checked address) and the request extensions that keep TLS on the name."""
        host = target.host
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            addresses = self._resolver(host, port)
        except OSError as e:
            raise DependencyUnavailable("the webhook's host does not resolve") from e
        local = self._settings.local_mode
        if not addresses or not all(address_allowed(a, local_mode=local) for a in addresses):
            raise PlatformError(
                "the webhook's host resolves to an address alerts are never sent to", code="webhook_destination_refused"
            )
        extensions: dict[str, Any] = {"sni_hostname": host} if target.scheme == "https" else {}
        return target.copy_with(host=addresses[0]), extensions

    def _backoff(self, attempt: int) -> float:
        s = self._settings
        return float(min(s.webhook_backoff_max_s, s.webhook_backoff_base_s * 2 ** (attempt - 1)))
