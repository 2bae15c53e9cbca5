"""The path every provider request takes: faults, authentication, parameters, handler, log.

Each provider supplies a ``Flavor``: how it reads the key, shapes errors and names its headers. Handlers are plain
functions from a ``Call`` to a JSON payload; they run in a worker thread so that building a large page never
blocks other requests (the latency knob must not serialise concurrent requests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from devstack.provider_sim.jsonio import dumps
from devstack.provider_sim.models import Provider, RequestRecord, SimOrg
from devstack.provider_sim.params import BadRequest, QueryArgs
from devstack.provider_sim.simulator import FaultDecision, KeyLookup, ProviderSimulator, fingerprint

logger = logging.getLogger(__name__)


class NotFound(Exception):
    """An unknown path below a provider's base URL."""


@dataclass(frozen=True)
class Call:
    """One authenticated request, as a handler sees it."""

    sim: ProviderSimulator
    org: SimOrg
    args: QueryArgs
    path: str
    now: datetime


Handler = Callable[[Call], dict[str, Any]]


class Flavor(Protocol):
    """A provider's conventions."""

    provider: Provider
    plain_arrays: bool

    def key(self, request: Request) -> str | None: ...

    def refuse(self, request: Request, lookup: KeyLookup, request_id: str) -> Response | None:
        """An auth/header error response, or ``None`` to proceed."""
        ...

    def error(
        self, status: int, message: str, request_id: str, *, param: str | None = None, retry_after: int | None = None
    ) -> Response: ...

    def headers(self, request_id: str) -> dict[str, str]: ...


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json", headers=headers)


def endpoint(sim: ProviderSimulator, flavor: Flavor, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint running ``handler`` behind the common request path."""

    async def run(request: Request) -> Response:
        key = flavor.key(request)
        full, marker = request.url.path, "/" + flavor.provider
        path = full[full.index(marker) + len(marker) :] if marker in full else full
        response = await _serve(sim, flavor, handler, request, key, path)
        logger.debug(
            "simulated provider request",
            extra={"provider": flavor.provider, "path": path, "status": response.status_code, "key": fingerprint(key)},
        )
        sim.record(
            RequestRecord(
                provider=flavor.provider,
                method=request.method,
                path=path,
                query=QueryArgs(request.query_params.multi_items(), plain_arrays=True).multi,
                status=response.status_code,
                key_fingerprint=fingerprint(key),
                at=sim.now(),
            )
        )
        return response

    return run


async def _serve(
    sim: ProviderSimulator, flavor: Flavor, handler: Handler, request: Request, key: str | None, path: str
) -> Response:
    """The answer, no sooner than the fault knobs' delay after the request arrived: it is built meanwhile, as a
    provider's servers build a page while its latency elapses, so a request takes the delay or its build time, the
    longer of the two (and a benchmark's floor of rounds × latency is the provider's true share)."""
    loop = asyncio.get_running_loop()
    decision = sim.decide_faults(flavor.provider)
    due = loop.time() + decision.delay_s
    response = await _answer(sim, flavor, handler, request, key, path, decision)
    if (remaining := due - loop.time()) > 0:
        await asyncio.sleep(remaining)
    return response


async def _answer(
    sim: ProviderSimulator,
    flavor: Flavor,
    handler: Handler,
    request: Request,
    key: str | None,
    path: str,
    decision: FaultDecision,
) -> Response:
    request_id = sim.next_request_id()
    if decision.status == 429:
        return flavor.error(429, "Rate limit exceeded.", request_id, retry_after=decision.retry_after_s)
    if decision.status is not None:
        return flavor.error(decision.status, "Simulated server error.", request_id)
    lookup = sim.identify(flavor.provider, key)
    refused = flavor.refuse(request, lookup, request_id)
    if refused is not None:
        return refused
    assert lookup.org is not None  # refuse() lets only admin keys of a known organisation through
    args = QueryArgs(request.query_params.multi_items(), plain_arrays=flavor.plain_arrays)
    call = Call(sim, lookup.org, args, path, sim.now())
    kept = (flavor.provider, lookup.org.org_id, request.method, path, request.url.query, call.now)
    body = sim.kept_answer(kept)  # only when a benchmark asked for it (``ProviderSimulator.keep_answers``)
    if body is None:
        try:
            payload = await asyncio.to_thread(handler, call)
        except BadRequest as e:
            return flavor.error(400, e.message, request_id, param=e.param)
        except NotFound:
            return flavor.error(404, f"Not found: {path}", request_id)
        body = dumps(payload)
        sim.keep_answer(kept, body)
    return Response(body, status_code=200, media_type="application/json", headers=flavor.headers(request_id))
