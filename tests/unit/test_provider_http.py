"""Provider HTTP behaviour: error mapping, bounded retries with backoff, Retry-After, timeouts, no key leaks."""

from __future__ import annotations

import logging
import random

import httpx
import pytest
from pydantic import SecretStr

from shared.adapters.anthropic_admin import AnthropicAdmin
from shared.adapters.openai_admin import OpenAIAdmin
from shared.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)
from tests.support.provider_mock import FAST_POLICY, MockProvider, dumps, json_response

pytestmark = pytest.mark.anyio

KEY = "sk-admin-http-test-0123456789abcdef"
ME = "/v1/organizations/me"
ORG = dumps({"id": "8a1c2e4f-0000-4000-8000-000000000001", "name": "Acme Corp", "type": "organization"})


def anthropic(mock: MockProvider, http: httpx.AsyncClient, seed: int = 7) -> AnthropicAdmin:
    return AnthropicAdmin(
        SecretStr(KEY),
        base_url="https://api.test",
        http=http,
        policy=FAST_POLICY,
        sleep=mock.sleep,
        rng=random.Random(seed),
    )


def route_sequence(mock: MockProvider, path: str, responses: list[httpx.Response | Exception]) -> None:
    queue = list(responses)

    def route(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    mock.routes[path] = route


def error(status: int, message: str, kind: str = "error", headers: dict[str, str] | None = None) -> httpx.Response:
    return json_response(dumps({"error": {"message": message, "type": kind}}), status, headers)


async def test_429_honours_retry_after_then_succeeds() -> None:
    mock = MockProvider()
    route_sequence(mock, ME, [error(429, "slow down", headers={"retry-after": "3"}), json_response(ORG)])
    async with mock.client() as http:
        org = await anthropic(mock, http).validate()
    assert (org.org_name, mock.sleeps) == ("Acme Corp", [3.0])


async def test_429_without_retry_after_backs_off_with_bounded_full_jitter_then_gives_up() -> None:
    mock = MockProvider()
    route_sequence(mock, ME, [error(429, "rate limited", "rate_limit_error")])
    async with mock.client() as http:
        with pytest.raises(ProviderRateLimited):
            await anthropic(mock, http).validate()
    # 1 try + max_retries (3) retries; delay n is uniform in [0, min(8, 0.5 × 2^n)].
    assert len(mock.requests) == FAST_POLICY.max_retries + 1
    caps = [min(FAST_POLICY.backoff_max_s, FAST_POLICY.backoff_base_s * 2**n) for n in range(3)]
    assert len(mock.sleeps) == 3
    assert all(0 <= s <= cap for s, cap in zip(mock.sleeps, caps, strict=True))
    rng = random.Random(7)  # the same seed gives the same jitter: delays come from the injected rng
    assert mock.sleeps == [rng.uniform(0, cap) for cap in caps]


async def test_retry_after_longer_than_the_cap_is_raised_at_once_for_the_queue_to_retry() -> None:
    mock = MockProvider()
    route_sequence(mock, ME, [error(429, "come back later", headers={"retry-after": "120"})])
    async with mock.client() as http:
        with pytest.raises(ProviderRateLimited) as caught:
            await anthropic(mock, http).validate()
    assert (caught.value.retry_after_s, mock.sleeps, len(mock.requests)) == (120.0, [], 1)


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_server_errors_are_retried_then_unavailable(status: int) -> None:
    mock = MockProvider()
    route_sequence(mock, ME, [error(status, "overloaded", "overloaded_error")])
    async with mock.client() as http:
        with pytest.raises(ProviderUnavailable) as caught:
            await anthropic(mock, http).validate()
    assert caught.value.transient
    assert len(mock.requests) == FAST_POLICY.max_retries + 1


async def test_a_transient_server_error_then_success_is_invisible() -> None:
    mock = MockProvider()
    route_sequence(mock, ME, [error(529, "overloaded"), error(503, "unavailable"), json_response(ORG)])
    async with mock.client() as http:
        org = await anthropic(mock, http).validate()
    assert (org.org_id, len(mock.sleeps)) == ("8a1c2e4f-0000-4000-8000-000000000001", 2)


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("timed out"), httpx.ConnectError("refused")])
async def test_timeouts_and_connection_errors_are_retried_then_unavailable(exc: Exception) -> None:
    mock = MockProvider()
    route_sequence(mock, ME, [exc])
    async with mock.client() as http:
        with pytest.raises(ProviderUnavailable):
            await anthropic(mock, http).validate()
    assert len(mock.requests) == FAST_POLICY.max_retries + 1


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, "invalid x-api-key", ProviderAuthError),
        (403, "You have insufficient permissions for this operation.", ProviderPermissionError),
        # OpenAI sometimes reports a missing scope as 401: it is a permission problem, not a bad key.
        (
            401,
            "You have insufficient permissions for this operation. Missing scopes: api.usage.read.",
            ProviderPermissionError,
        ),
        (400, "starting_at is required", ProviderResponseError),
    ],
)
async def test_permanent_errors_map_to_domain_errors_without_retry(
    status: int, message: str, expected: type[ProviderError]
) -> None:
    mock = MockProvider()
    route_sequence(mock, ME, [error(status, message)])
    async with mock.client() as http:
        with pytest.raises(expected) as caught:
            await anthropic(mock, http).validate()
    assert type(caught.value) is expected
    assert (len(mock.requests), mock.sleeps) == (1, [])


class _Unfiltered(logging.Handler):
    """Sees records before any redacting handler rewrites them, so a leak cannot hide behind redaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.getMessage()} {vars(record)}")


async def test_the_key_never_appears_in_errors_logs_or_reprs() -> None:
    raw_logs = _Unfiltered()
    adapters_log = logging.getLogger("shared.adapters")
    adapters_log.addHandler(raw_logs)
    adapters_log.setLevel(logging.DEBUG)
    mock = MockProvider()
    echo = f"Incorrect API key provided: {KEY}. You can find your API key at ..."
    route_sequence(mock, ME, [error(503, echo), error(401, echo, "invalid_api_key")])
    async with mock.client() as http:
        client = anthropic(mock, http)
        with pytest.raises(ProviderAuthError) as caught:
            await client.validate()
    assert mock.requests[0].headers["x-api-key"] == KEY  # it was sent...
    assert KEY not in str(caught.value)  # ...and never echoed back
    assert KEY not in caught.value.message
    assert "[REDACTED]" in caught.value.message
    assert KEY not in repr(client)
    adapters_log.removeHandler(raw_logs)
    adapters_log.setLevel(logging.NOTSET)
    assert raw_logs.seen  # the retry was logged...
    assert not [line for line in raw_logs.seen if KEY in line]  # ...without the key


async def test_requests_carry_explicit_connect_and_read_timeouts() -> None:
    mock = MockProvider(routes={ME: lambda r: json_response(ORG)})
    async with mock.client() as http:
        await anthropic(mock, http).validate()
    timeout = mock.requests[0].extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (FAST_POLICY.connect_timeout_s, FAST_POLICY.read_timeout_s)


async def test_openai_validation_records_missing_management_scope_without_failing() -> None:
    mock = MockProvider(
        routes={
            "/v1/organization/costs": lambda r: json_response(
                dumps({"object": "page", "data": [], "has_more": False, "next_page": None}),
                headers={"openai-organization": "org-acme"},
            ),
            "/v1/organization/projects": lambda r: error(
                403, "You have insufficient permissions for this operation. Missing scopes: api.management.read."
            ),
        }
    )
    async with mock.client() as http:
        client = OpenAIAdmin(SecretStr(KEY), base_url="https://api.test", http=http, policy=FAST_POLICY)
        org = await client.validate()
    assert (org.org_id, org.permissions) == ("org-acme", ("usage.read",))
    costs = mock.requests[0]
    assert (costs.url.params["limit"], costs.headers["authorization"]) == ("1", f"Bearer {KEY}")


async def test_openai_validation_fails_when_usage_cannot_be_read() -> None:
    mock = MockProvider(
        routes={
            "/v1/organization/costs": lambda r: error(
                403, "You have insufficient permissions for this operation. Missing scopes: api.usage.read."
            )
        }
    )
    async with mock.client() as http:
        client = OpenAIAdmin(SecretStr(KEY), base_url="https://api.test", http=http, policy=FAST_POLICY)
        with pytest.raises(ProviderPermissionError):
            await client.validate()
