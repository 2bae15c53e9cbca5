"""Which webhook URLs the platform may POST to: no way into our own network (SSRF).

Outside local mode a webhook must be ``https``, name a host (no user or password in the URL), and never reach a
private, loopback, link-local, multicast, reserved or otherwise non-global address: those are our VPC, the metadata
server (``169.254.169.254``, ``metadata.google.internal``) and the function's own loopback. ``check_webhook_url``
refuses what the URL alone shows (an address literal, ``localhost``, internal names) when it is saved;
``address_allowed`` is applied again to every address the host resolves to when sending, and the request is pinned
to the checked address (``shared.adapters.webhook_http``), so a name that later resolves elsewhere gains nothing.
An IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged by that IPv4 address, where a gateway
would deliver it; the local-use NAT64 prefix and deprecated IPv4-compatible addresses are refused outright.

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


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix (RFC 6052): a gateway forwards to the IPv4 address in the last 32 bits."""
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
"""The local-use NAT64 prefix (RFC 8215): an operator's own translator, never a public destination."""
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
"""IPv4-compatible addresses (deprecated by RFC 4291): some stacks still route them to the IPv4 address."""


def _destination(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Where a packet to ``ip`` ends up: the IPv4 address a transition mechanism embeds, ``ip`` itself for native
    IPv6, or ``None`` for a range a webhook never needs (local-use NAT64, IPv4-compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64_LOCAL or (ip in _IPV4_COMPATIBLE and not ip.is_loopback and not ip.is_unspecified):
        return None
    return ip


def address_allowed(address: str, *, local_mode: bool) -> bool:
    """Whether a POST may go to ``address`` (an IPv4 or IPv6 address), judged by where it really ends up."""
    parsed = ipaddress.ip_address(address)
    ip = _destination(parsed) if isinstance(parsed, ipaddress.IPv6Address) else parsed
    if ip is None:
        return False
    if local_mode and ip.is_loopback and ip == parsed:
        return True  # plain loopback only: a transition address of loopback is an attempt, even locally
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
