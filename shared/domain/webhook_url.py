"""Which webhook URLs the platform may POST to: no way into our own network (SSRF).

Outside local mode a webhook must be ``https``, name a host (no user or password in the URL), and never reach a
private, loopback, link-local, multicast, reserved or otherwise non-global address: those are our VPC, the metadata
server (``169.254.169.254``, ``metadata.google.internal``) and the function's own loopback. ``check_webhook_url``
refuses what the URL alone shows (an address literal, ``localhost``, internal names) when it is saved;
``address_allowed`` is applied again to every address the host resolves to when sending, and the request is pinned
to the checked address (``shared.adapters.webhook_http``), so a name that later resolves elsewhere gains nothing.

Local mode (the local stack and tests) accepts ``http`` and loopback, so a test can run a receiver on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from shared.errors import InvalidInput

MAX_URL_LENGTH = 2048
_INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
_INTERNAL_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"})


def _refuse(reason: str) -> InvalidInput:
    return InvalidInput(f"webhook_url {reason}", code="invalid_webhook_url")


def address_allowed(address: str, *, local_mode: bool) -> bool:
    """Whether a POST may go to ``address`` (an IPv4 or IPv6 address)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if local_mode and ip.is_loopback:
        return True
    return ip.is_global and not ip.is_multicast


def check_webhook_url(url: str, *, local_mode: bool) -> str:
    """``url`` if it may be saved as a webhook; ``InvalidInput`` (``invalid_webhook_url``) otherwise."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise _refuse("is too long or holds whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise _refuse("is not a valid URL") from e
    allowed_schemes = {"https", "http"} if local_mode else {"https"}
    if parts.scheme not in allowed_schemes:
        raise _refuse("must use https")
    if parts.username is not None or parts.password is not None:
        raise _refuse("must not hold a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse("must name a host")
    if port == 0:
        raise _refuse("must not use port 0")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not local_mode and (host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES) or "." not in host):
            raise _refuse("must name a public host") from None
    else:
        if not address_allowed(host, local_mode=local_mode):
            raise _refuse("must not point to a private, loopback or reserved address")
    if parts.fragment:
        raise _refuse("must not hold a fragment")
    return url


def webhook_host(url: str) -> str:
    """The host (and port, when not the default) members may see; the path may hold a token and is not shown."""
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]
