"""``/_sim/``: drive the simulator over HTTP from other processes (the local stack, end-to-end tests).

Organisation bodies carry keys; they are parsed straight into ``SecretStr`` fields and never echoed back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.provider_sim.models import Faults, RevokeKey, SimOrg
from devstack.provider_sim.simulator import ProviderSimulator

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]


class _Invalid(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


async def _body(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as e:
        # include_input=False: a rejected body may hold a key.
        details = e.errors(include_input=False, include_url=False, include_context=False)
        raise _Invalid(JSONResponse({"error": "invalid body", "details": details}, status_code=422)) from e


def _json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


class ControlApi:
    """Handlers of the control routes."""

    def __init__(self, sim: ProviderSimulator) -> None:
        self.sim = sim

    async def add_org(self, request: Request) -> Response:
        org = await _body(request, SimOrg)
        try:
            self.sim.add_org(org)
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=409)
        return JSONResponse({"org_id": org.org_id, "provider": org.provider}, status_code=201)

    async def list_orgs(self, request: Request) -> Response:
        return JSONResponse([{"org_id": o.org_id, "provider": o.provider, "name": o.name} for o in self.sim.orgs()])

    async def truth(self, request: Request) -> Response:
        org_id = request.path_params["org_id"]
        try:
            day = date.fromisoformat(request.query_params.get("day", ""))
        except ValueError:
            return JSONResponse({"error": "day must be YYYY-MM-DD"}, status_code=400)
        try:
            return _json(self.sim.truth(org_id, day))
        except KeyError:
            return JSONResponse({"error": f"unknown organisation {org_id!r}"}, status_code=404)

    async def set_faults(self, request: Request) -> Response:
        faults = await _body(request, Faults)
        self.sim.set_faults(faults)
        return _json(faults)

    async def get_faults(self, request: Request) -> Response:
        return _json(self.sim.faults)

    async def revoke(self, request: Request) -> Response:
        self.sim.revoke_key((await _body(request, RevokeKey)).key)
        return Response(status_code=204)

    async def requests(self, request: Request) -> Response:
        return JSONResponse([r.model_dump(mode="json") for r in self.sim.requests])

    async def reset_log(self, request: Request) -> Response:
        self.sim.reset_log()
        return Response(status_code=204)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})


def _guarded(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except _Invalid as e:
            return e.response

    return run


def routes(sim: ProviderSimulator) -> list[Route]:
    """The control routes, to mount at ``/_sim``."""
    api = ControlApi(sim)
    table = [
        ("/orgs", api.add_org, "POST"),
        ("/orgs", api.list_orgs, "GET"),
        ("/orgs/{org_id}/truth", api.truth, "GET"),
        ("/faults", api.set_faults, "POST"),
        ("/faults", api.get_faults, "GET"),
        ("/keys/revoke", api.revoke, "POST"),
        ("/requests", api.requests, "GET"),
        ("/reset-log", api.reset_log, "POST"),
        ("/healthz", api.healthz, "GET"),
    ]
    return [Route(path, _guarded(handler), methods=[method]) for path, handler, method in table]
