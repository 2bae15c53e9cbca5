"""``WebhookSender`` over HTTPS with httpx: resolve, refuse internal addresses, pin, POST, retry with backoff.

Server-side request forgery is the risk of any URL a customer gives us, so every send:

1. resolves the host and refuses the send (``webhook_destination_refused``, permanent) if *any* address it
   resolves to is not allowed (``shared.domain.alerts.webhook_url.address_allowed``: loopback only in local mode);
2. connects to the checked address itself (the URL's host replaced by the address, ``Host`` and TLS SNI kept as the
   name, so the certificate is still verified against the name): a DNS answer that changes between the check and
   the connection (rebinding) cannot redirect the request;
3. never follows redirects (a 3xx is a refusal) and ignores proxy settings from the environment; the URL is never
   logged (its path may hold a token, as chat webhooks' do), so httpx's client, which logs each URL, is not used.

Each ``post`` is one attempt with a total deadline (``Settings.webhook_deadline_s``, ``deadline_http``): a receiver
that is slow, or trickles its answer a byte at a time, is cut off then, so a tenant's endpoint can never hold the
sync worker. There is no retry here: a network error, a timeout, 429 or 5xx raises ``DependencyUnavailable`` and the
alert's ``webhook_deliver`` task (Cloud Tasks, ``shared.services.alerts.webhook_retry``) tries it again with the queue's
backoff. Any other 4xx is ``webhook_rejected`` (permanent). Response bodies are neither read into logs nor errors.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from shared.adapters.deadline_http import DeadlineTransport
from shared.config import Settings
from shared.domain.alerts.webhook_url import address_allowed
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
        settings: ``webhook_timeout_s`` (each network operation), ``webhook_deadline_s`` (the whole send) and local
            mode.
        transport: Replaces the network in tests of the status handling.
        resolver: Replaces DNS in tests of the address checks.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._resolver = resolver

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
        request = httpx.Request("POST", pinned, content=body, headers=request_headers, extensions=extensions)
        # The transport is used directly: httpx's client logs every request's URL, whose path may hold a token.
        with self._transport or DeadlineTransport(self._settings.webhook_deadline_s) as transport:
            try:
                status = _status(transport, request)
            except httpx.TransportError as e:
                log.warning("webhook attempt failed", extra={"outcome": type(e).__name__})
                raise DependencyUnavailable(f"the webhook did not answer in time ({type(e).__name__})") from e
        if 200 <= status < 300:
            log.info("webhook delivered", extra={"status": status})
            return
        if status != 429 and status < 500:
            raise PlatformError(f"the webhook refused the alert ({status})", code="webhook_rejected")
        log.warning("webhook attempt failed", extra={"outcome": str(status)})
        raise DependencyUnavailable(f"the webhook did not accept the alert ({status})")

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
