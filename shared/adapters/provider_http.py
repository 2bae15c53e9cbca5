"""HTTP plumbing shared by the provider admin clients: timeouts, bounded retries, concurrency, error mapping.

Errors become the ``ProviderError`` subclasses of ``shared.errors``:

* 401 → ``ProviderAuthError`` (but "Missing scopes" → ``ProviderPermissionError``: OpenAI sometimes sends 401);
* 403 → ``ProviderPermissionError``;
* 429 → retried after ``Retry-After`` (or backoff), then ``ProviderRateLimited``; a ``Retry-After`` longer than
  the backoff cap is not slept on: the error is raised at once with ``retry_after_s`` so the task queue retries;
* 5xx (incl. Anthropic's 529), 408, timeouts and other request errors → retried, then ``ProviderUnavailable``;
* a 200 whose body is not JSON → ``MalformedResponse``; any other status → ``ProviderResponseError``.

Backoff is exponential with full jitter: ``uniform(0, min(cap, base × 2^attempt))``. Sleep and randomness are
injected so tests run instantly. The key is sent in a header built per request; messages carry the provider's
error text with anything key-shaped redacted, never headers.

A request may override the error type of a status (``status_errors``), or ``explain`` an error status from its
body (Google's bodies say whether a 403 is a missing role, a missing OAuth scope or a disabled API; its token
endpoint's 400 says whether the key was revoked). Requests are GETs with query parameters, or POSTs with a JSON or
form body (OAuth token exchange, BigQuery ``jobs.query``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Self, TypeVar

import httpx

from shared.adapters.provider_sends import send_gate
from shared.config import Settings
from shared.domain.usage.records import Provider
from shared.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)
from shared.log import redact

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
QueryParams = Sequence[tuple[str, str]]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
MAX_ERROR_TEXT = 300


class MalformedResponse(ProviderResponseError):
    """A successful status with a body that is not JSON: the page is unusable, the request was fine."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a client talks to a provider: timeouts, bounded retries with backoff, and concurrency."""

    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    concurrency: int = 6

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.provider_max_retries,
            backoff_base_s=settings.provider_backoff_base_s,
            backoff_max_s=settings.provider_backoff_max_s,
            connect_timeout_s=settings.provider_connect_timeout_s,
            read_timeout_s=settings.provider_read_timeout_s,
            concurrency=settings.provider_concurrency,
        )

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout_s,
            read=self.read_timeout_s,
            write=self.read_timeout_s,
            pool=self.read_timeout_s,
        )

    def backoff_s(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter delay before retry number ``attempt + 1`` (attempt counts from 0)."""
        return rng.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2**attempt))


class JsonText(str):
    """A JSON document as received: kept in a debugging copy as is, not decoded and encoded again."""

    __slots__ = ()


@dataclass(frozen=True)
class JsonResponse:
    body: Any
    """Decoded with JSON numbers that have a fraction as ``Decimal`` (money stays exact)."""
    text: JsonText
    """The body as received (valid JSON: ``body`` was decoded from it), for the debugging copy of the page."""
    headers: httpx.Headers


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CAs, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), built once per
    process: loading the CA bundle takes tens of milliseconds of CPU, which every task's clients would otherwise
    pay again. A context is safe to share between clients, event loops and threads."""
    return httpx.create_ssl_context()


class ClientOwner:
    """An httpx client given to a usage source (or to its ``ProviderHttp``), or one it made for itself and therefore
    closes; the owner is its own async context manager. The cloud sources (Google, Bedrock, Azure) share one client
    among their endpoints."""

    _client: httpx.AsyncClient
    _owns_client: bool

    def _adopt_client(self, http: httpx.AsyncClient | None, policy: RetryPolicy) -> httpx.AsyncClient:
        self._owns_client = http is None
        self._client = http or httpx.AsyncClient(
            timeout=policy.timeout, limits=httpx.Limits(max_connections=policy.concurrency), verify=tls_context()
        )
        return self._client

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class ProviderHttp(ClientOwner):
    """GETs JSON from one provider with retries, a concurrency bound and typed errors."""

    def __init__(
        self,
        provider: Provider,
        base_url: str,
        auth_headers: Callable[[], Mapping[str, str]],
        *,
        http: httpx.AsyncClient | None,
        policy: RetryPolicy,
        sleep: Sleep,
        rng: random.Random | None,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.provider = provider
        self._auth = auth
        """Signs each request as sent (AWS SigV4 needs the final URL and body bytes); ``None`` for header keys."""
        self._base_url = base_url.rstrip("/")
        self._auth_headers = auth_headers
        self._adopt_client(http, policy)
        self._policy = policy
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._slots = asyncio.Semaphore(policy.concurrency)

    async def get_json(
        self,
        path: str,
        params: QueryParams,
        *,
        headers: Mapping[str, str] | None = None,
        status_errors: StatusErrors | None = None,
        explain: Explain | None = None,
    ) -> JsonResponse:
        """GET ``path`` with bounded retries; returns the decoded JSON or raises a ``ProviderError``."""
        return await self._request_json(
            _Request(
                "GET", path, tuple(params), headers=headers or {}, status_errors=status_errors or {}, explain=explain
            )
        )

    async def post_json(
        self,
        path: str,
        *,
        params: QueryParams = (),
        json_body: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        status_errors: StatusErrors | None = None,
        explain: Explain | None = None,
    ) -> JsonResponse:
        """POST a JSON or form body to ``path`` with bounded retries (only for requests that are safe to repeat)."""
        request = _Request(
            "POST",
            path,
            tuple(params),
            headers=headers or {},
            status_errors=status_errors or {},
            json_body=json_body,
            form=form,
            explain=explain,
        )
        return await self._request_json(request)

    async def _request_json(self, request: _Request) -> JsonResponse:
        attempt = 0
        path = request.path
        while True:
            outcome = await self._attempt(request)
            if isinstance(outcome, JsonResponse):
                return outcome
            if not outcome.retryable or attempt >= self._policy.max_retries:
                raise outcome.error
            delay = outcome.retry_after_s
            if delay is None:
                delay = self._policy.backoff_s(attempt, self._rng)
            log.warning(
                "provider request retried",
                extra={"provider": self.provider.value, "path": path, "error": outcome.error.code, "delay_s": delay},
            )
            await self._sleep(delay)
            attempt += 1

    async def _attempt(self, request: _Request) -> JsonResponse | _Failure:
        name, path = self.provider.value, request.path
        gate = send_gate()
        try:
            async with self._slots:
                sending = gate.request()
                try:
                    response = await self._client.request(
                        request.method,
                        f"{self._base_url}{path}",
                        params=list(request.params),
                        headers={**self._auth_headers(), **request.headers},
                        json=request.json_body,
                        data=request.form,
                        timeout=self._policy.timeout,
                        auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
                        extensions={"trace": sending.trace},
                    )
                finally:
                    sending.done()  # refused, timed out, or an auth flow that sent another request object
        except httpx.TimeoutException as e:
            error = ProviderUnavailable(f"{name} request to {path} timed out ({type(e).__name__})", provider=name)
            return _Failure(error, retryable=True)
        except httpx.RequestError as e:  # connection, protocol and decoding failures
            error = ProviderUnavailable(f"{name} request to {path} failed ({type(e).__name__})", provider=name)
            return _Failure(error, retryable=True)
        log.debug("provider response", extra={"provider": name, "path": path, "status": response.status_code})
        # The slot just freed goes to the next request, and every request holding a slot is written, before this
        # one's page is decoded and parsed (``provider_sends``).
        await gate.settled()
        if response.status_code == 200:
            return _decode(self.provider, path, response)
        return self._status_failure(request, response)

    def _status_failure(self, request: _Request, response: httpx.Response) -> _Failure:
        name, status, path = self.provider.value, response.status_code, request.path
        detail = _error_text(response)
        message = f"{name} returned {status} for {path}: {detail}"
        if request.explain is not None and (explained := request.explain(status, _json_or_none(response), message)):
            return _Failure(explained)
        override = request.status_errors.get(status)
        if override is not None:
            return _Failure(override(message, provider=name))
        if status == 429:
            retry_after = _retry_after_s(response.headers)
            error = ProviderRateLimited(message, provider=name, retry_after_s=retry_after)
            too_long = retry_after is not None and retry_after > self._policy.backoff_max_s
            return _Failure(error, retryable=not too_long, retry_after_s=retry_after)
        if status in (401, 403):
            if status == 403 or "missing scopes" in detail.lower():
                return _Failure(ProviderPermissionError(message, provider=name))
            return _Failure(ProviderAuthError(message, provider=name))
        if status in RETRYABLE_STATUSES or status >= 500:
            return _Failure(ProviderUnavailable(message, provider=name), retryable=True)
        return _Failure(ProviderResponseError(message, provider=name))


StatusErrors = Mapping[int, type[ProviderError]]
"""Status code → the error a request raises for it instead of the default mapping (never retried)."""
Explain = Callable[[int, Any, str], ProviderError | None]
"""(status, decoded error body or ``None``, our redacted message) → the error to raise (never retried), or ``None``
for the default mapping."""


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: QueryParams
    headers: Mapping[str, str]
    status_errors: StatusErrors
    json_body: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    explain: Explain | None = None


@dataclass(frozen=True)
class _Failure:
    error: ProviderError
    retryable: bool = False
    retry_after_s: float | None = None
    """The server's ``Retry-After``; ``None`` = use our backoff."""


def _decode(provider: Provider, path: str, response: httpx.Response) -> JsonResponse:
    try:
        body = json.loads(response.text, parse_float=Decimal)
    except ValueError as e:
        raise_as = MalformedResponse(f"{provider.value} sent a non-JSON body for {path}", provider=provider.value)
        raise raise_as from e
    return JsonResponse(body=body, text=JsonText(response.text), headers=response.headers)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    """The provider's error type and message, redacted: OpenAI, Anthropic and Google APIs nest them under ``error``
    (Google names the type ``status``); OAuth token endpoints send ``error`` and ``error_description`` strings."""
    try:
        payload = response.json()
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            text = f"{error.get('type') or error.get('status') or 'error'}: {error.get('message') or ''}"
        elif isinstance(error, str) and isinstance(payload, dict):
            text = f"{error}: {payload.get('error_description') or ''}"
        else:
            text = response.text
    except ValueError:
        text = response.text
    return redact(" ".join(text.split()))[:MAX_ERROR_TEXT]


def _retry_after_s(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff
    return max(seconds, 0.0) if seconds is not None else None


async def run_all(coroutines: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; on the first failure cancel the rest and raise that failure itself (not a group)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coroutines]
    except BaseExceptionGroup as eg:
        raise _first_leaf(eg) from None
    return [task.result() for task in tasks]


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        current = stack.pop(0)
        if isinstance(current, BaseExceptionGroup):
            stack[:0] = list(current.exceptions)
        else:
            leaves.append(current)
    return next((e for e in leaves if isinstance(e, ProviderError)), leaves[0])
