"""Webhook URLs and sends: no way into our own network (SSRF), signed bodies, one attempt per send."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from shared.adapters.webhook_http import HttpWebhookSender
from shared.config import Settings
from shared.domain.alerts.webhook_signature import new_secret, signature, signed_headers, verify_signature
from shared.domain.alerts.webhook_url import address_allowed, check_webhook_url, webhook_host
from shared.errors import DependencyUnavailable, InvalidInput, PlatformError

CLOUD = Settings(firebase_auth_emulator_host=None)
"""Settings as deployed: not local mode."""


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/computeMetadata/v1/",
        "https://[::1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://metadata.google.internal/x",
        "https://localhost:8443/x",
        "https://printer.local/x",
        "https://intranet/x",
        "https://user:pass@hooks.example.com/x",
        "https://hooks.example.com/x#frag",
        "ftp://hooks.example.com/x",
        "https:///nohost",
        "https://hooks.example.com/a b",
        "https://hooks.example.com:99999/x",
    ],
)
def test_urls_into_our_network_or_without_tls_are_refused_outside_local_mode(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_webhook_url(url, local_mode=False)
    assert refused.value.code == "invalid_webhook_url"


def test_public_https_urls_are_accepted_and_local_mode_allows_a_loopback_receiver() -> None:
    for url in ("https://hooks.example.com/services/T0/B0/XyZ", "https://8.8.8.8:8443/hook"):
        assert check_webhook_url(url, local_mode=False) == url
    assert check_webhook_url("http://127.0.0.1:8765/hook", local_mode=True)
    with pytest.raises(InvalidInput):
        check_webhook_url("http://10.0.0.1/hook", local_mode=True)
    assert webhook_host("https://hooks.example.com/services/T0/B0/secret-token") == "hooks.example.com"
    assert not address_allowed("100.64.0.1", local_mode=False), "carrier-grade NAT is not public"
    assert address_allowed("2606:4700:4700::1111", local_mode=False)


def test_signatures_verify_only_with_the_secret_the_body_and_a_fresh_timestamp() -> None:
    secret = new_secret()
    assert secret.get_secret_value().startswith("whsec_")
    assert secret != new_secret()
    body = b'{"kind":"budget_warning"}'
    headers = signed_headers(secret, "budget_warning-2026-11-x", 1_795_400_000, body)
    ok = {"timestamp": headers["X-Usage-Alert-Timestamp"], "signature_header": headers["X-Usage-Alert-Signature"]}
    assert verify_signature(secret, body, now=1_795_400_100, **ok)
    assert not verify_signature(secret, body + b" ", now=1_795_400_100, **ok)
    assert not verify_signature(SecretStr("whsec_other"), body, now=1_795_400_100, **ok)
    assert not verify_signature(secret, body, now=1_795_400_000 + 301, **ok), "a replay after 5 minutes"
    assert signature(secret, 1, body) != signature(secret, 2, body)


Handler = Callable[[httpx.Request], httpx.Response]


def sender(handler: Handler, addresses: list[str], settings: Settings = CLOUD) -> HttpWebhookSender:
    return HttpWebhookSender(settings, transport=httpx.MockTransport(handler), resolver=lambda host, port: addresses)


def test_a_send_goes_to_the_checked_address_with_the_name_kept_for_tls() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    hook = sender(handler, ["93.184.216.34"])
    hook.post("https://hooks.example.com/services/T0", b"{}", {"X-Usage-Alert-Id": "a1"})

    [request] = seen
    assert str(request.url) == "https://93.184.216.34/services/T0"
    assert request.headers["Host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.headers["X-Usage-Alert-Id"] == "a1"
    assert request.content == b"{}"


@pytest.mark.parametrize("addresses", [["10.0.0.7"], ["93.184.216.34", "127.0.0.1"], ["169.254.169.254"], []])
def test_a_host_resolving_to_an_internal_address_is_never_called(addresses: list[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may leave")

    hook = sender(handler, addresses)
    with pytest.raises(PlatformError) as refused:
        hook.post("https://rebind.example.com/x", b"{}", {})
    assert refused.value.code == "webhook_destination_refused"
    assert not refused.value.transient


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_server_errors_are_transient_after_one_attempt(status: int) -> None:
    """No retry inside a sync: the alert stays open and the next sync task tries again."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, text="upstream said sk-admin-secret")

    with pytest.raises(DependencyUnavailable) as down:
        sender(handler, ["93.184.216.34"]).post("https://hooks.example.com/x", b"{}", {})
    assert calls == [1]
    assert "sk-admin" not in str(down.value)


@pytest.mark.parametrize("status", [301, 400, 404, 410])
def test_refusals_and_redirects_are_permanent(status: int) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, headers={"Location": "http://169.254.169.254/"})

    hook = sender(handler, ["93.184.216.34"])
    with pytest.raises(PlatformError) as refused:
        hook.post("https://hooks.example.com/x", b"{}", {})
    assert refused.value.code == "webhook_rejected"
    assert calls == [1]


def test_network_errors_and_unresolvable_hosts_are_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    hook = sender(handler, ["93.184.216.34"])
    with pytest.raises(DependencyUnavailable):
        hook.post("https://hooks.example.com/x", b"{}", {})

    def no_dns(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    unresolvable = HttpWebhookSender(CLOUD, resolver=no_dns)
    with pytest.raises(DependencyUnavailable):
        unresolvable.post("https://nowhere.example.com/x", b"{}", {})


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a00:1",  # NAT64 (RFC 6052) of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata server
        "64:ff9b::7f00:1",  # NAT64 of loopback
        "64:ff9b:1::a00:1",  # local-use NAT64 prefix (RFC 8215): never a public destination
        "2002:a00:1::",  # 6to4 (RFC 3056) of 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of the metadata server
        "2002:7f00:1::1",  # 6to4 of loopback
        "::a00:1",  # IPv4-compatible (deprecated, RFC 4291) 10.0.0.1
        "::a9fe:a9fe",
        "::5db8:d822",  # IPv4-compatible of a public address: deprecated, never used by a real receiver
    ],
)
def test_ipv6_transition_addresses_of_internal_ipv4_are_refused(address: str) -> None:
    """The IPv4 address inside an IPv6 transition address is where the packet ends up (a NAT64 gateway or 6to4
    relay forwards it): it is checked like the IPv4 address itself."""
    assert not address_allowed(address, local_mode=False)
    assert not address_allowed(address, local_mode=True)
    with pytest.raises(InvalidInput):
        check_webhook_url(f"https://[{address}]/hook", local_mode=False)


@pytest.mark.parametrize("address", ["64:ff9b::5db8:d822", "2002:5db8:d822::1", "2606:4700:4700::1111"])
def test_transition_addresses_of_public_ipv4_and_native_ipv6_are_allowed(address: str) -> None:
    assert address_allowed(address, local_mode=False)
