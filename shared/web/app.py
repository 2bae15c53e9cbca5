"""One deploy unit's HTTP application: authentication, enterprise selection, input parsing, CORS and errors.

Object-level authorisation happens here, before any handler runs: a route that needs an enterprise gets the
caller's membership of the *selected* enterprise (``X-Enterprise-Id``, or the only one they have). Enterprises the
caller does not belong to answer 404, exactly like enterprises that do not exist.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from shared.config import Settings
from shared.deps import Deps
from shared.domain.enterprise.callers import ServiceCaller, User
from shared.domain.enterprise.model import Membership, Role
from shared.errors import Forbidden, InvalidInput, NotFound, PlatformError, Unauthenticated
from shared.log import trace_context
from shared.web import problems
from shared.web.context import RequestContext
from shared.web.flask_glue import MAX_BODY_BYTES
from shared.web.http import ApiRequest, ApiResponse
from shared.web.router import Access, Route, Router
from shared.web.task_attempts import given_up

log = logging.getLogger(__name__)

ENTERPRISE_HEADER = "x-enterprise-id"
CORS_MAX_AGE_S = "600"
CORS_ALLOWED_HEADERS = "Authorization, Content-Type, X-Enterprise-Id, Idempotency-Key"


class UserVerifier(Protocol):
    def verify(self, token: str) -> User: ...


class CallerVerifier(Protocol):
    def verify(self, token: str, *, audience: str, allowed_emails: frozenset[str]) -> ServiceCaller: ...


class WebApp:
    """Serves one ``Router``; built once per instance by the composition root."""

    def __init__(
        self,
        router: Router,
        deps: Deps,
        *,
        users: UserVerifier,
        callers: CallerVerifier,
    ) -> None:
        self.router = router
        self.deps = deps
        self._settings: Settings = deps.settings
        self._users = users
        self._callers = callers

    def handle(self, request: ApiRequest) -> ApiResponse:
        started = time.perf_counter()
        trace_header = request.headers.get("x-cloud-trace-context", "")
        token = trace_context.set(trace_header.split("/", 1)[0] or None)
        try:
            response = self._handle(request)
        finally:
            trace_context.reset(token)
        self._add_common_headers(request, response)
        self._log_if_given_up(request, response)
        log.info(
            "%s %s -> %s",
            request.method,
            request.path,
            response.status,
            extra={
                "httpRequest": {"requestMethod": request.method, "status": response.status},
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response

    def _log_if_given_up(self, request: ApiRequest, response: ApiResponse) -> None:
        """A task route's failure on its queue's last attempt: Cloud Tasks drops the task after it."""
        if "x-cloudtasks-queuename" not in request.headers:
            return
        route, _, _ = self.router.resolve(request.method, request.path)
        if route is None or route.access is not Access.TASKS:
            return
        fields = given_up(request.headers, response.status, self._settings.task_max_attempts)
        if fields is not None:
            log.error("task given up after its last attempt", extra=fields)

    def _handle(self, request: ApiRequest) -> ApiResponse:
        if request.method == "OPTIONS":
            return self._preflight(request)
        route, params, allowed = self.router.resolve(request.method, request.path)
        if route is None:
            if allowed:
                response = problems.problem(
                    405, "Method not allowed", "method_not_allowed", f"{request.method} is not allowed here"
                )
                response.headers["Allow"] = ", ".join(sorted(set(allowed)))
                return response
            return problems.problem(404, "Not found", "route_not_found", "no such endpoint")
        refused = _refuse_body(route, request)
        if refused is not None:
            return refused
        try:
            context = self._context(route, request.with_path_params(params))
            return self._render(route, route.handler(context))
        except PlatformError as e:
            return problems.from_error(e)
        except Exception:
            log.exception("unhandled error in %s %s", route.method, route.path)
            return problems.internal_error()

    # --- authentication and authorisation ------------------------------------------------------------------

    def _context(self, route: Route, request: ApiRequest) -> RequestContext:
        user: User | None = None
        caller: ServiceCaller | None = None
        membership: Membership | None = None
        if route.access.internal:
            caller = self._caller(route.access, request)
        elif route.access is not Access.PUBLIC:
            user = self._user(request)
            if route.sensitive and self.deps.revocations.revoked(user.uid, user.authenticated_at):
                raise Unauthenticated("the ID token has been revoked: sign in again", code="token_revoked")
            if route.access.needs_enterprise:
                membership = self._membership(user, request, admin=route.access is Access.ADMIN)
        query = _parse_query(route, request.query)
        body = _parse_body(route, request)
        return RequestContext(
            request, self.deps, user=user, caller=caller, membership=membership, body=body, query=query
        )

    def _user(self, request: ApiRequest) -> User:
        token = request.bearer_token()
        if token is None:
            raise Unauthenticated("a Firebase ID token is required (Authorization: Bearer ...)", code="missing_token")
        return self._users.verify(token)

    def _caller(self, access: Access, request: ApiRequest) -> ServiceCaller:
        token = request.bearer_token()
        if token is None:
            raise Unauthenticated("an OIDC token is required", code="missing_token")
        audience = self._settings.internal_audience or f"{self._settings.function_base_url}/{self.router.function}"
        # Each task-triggered function accepts its own invoker only: a token minted for one queue's tasks cannot
        # call another function.
        allowed = (
            self._settings.scheduler_service_account
            if access is Access.SCHEDULER
            else self._settings.task_invoker(self.router.function)
        )
        return self._callers.verify(token, audience=audience, allowed_emails=frozenset({allowed}))

    def _membership(self, user: User, request: ApiRequest, *, admin: bool) -> Membership:
        memberships = self.deps.enterprises.memberships_for(user.uid)
        selected = request.headers.get(ENTERPRISE_HEADER)
        if selected:
            found = next((m for m in memberships if m.enterprise_id == selected), None)
        elif len(memberships) == 1:
            found = memberships[0]
        elif memberships:
            raise InvalidInput(
                "you belong to several enterprises: choose one with the X-Enterprise-Id header",
                code="enterprise_selection_required",
            )
        else:
            found = None
        if found is None:
            raise NotFound("enterprise not found", code="enterprise_not_found")
        if admin and found.role is not Role.ADMIN:
            raise Forbidden("only enterprise admins may do this", code="admin_required")
        return found

    # --- responses -----------------------------------------------------------------------------------------

    @staticmethod
    def _render(route: Route, result: Any) -> ApiResponse:
        if isinstance(result, ApiResponse):
            return result
        if route.status == 204:
            return ApiResponse.empty()
        return ApiResponse.json(result, status=route.status)

    def _preflight(self, request: ApiRequest) -> ApiResponse:
        response = ApiResponse.empty(204)
        if self._allowed_origin(request):
            wanted = request.headers.get("access-control-request-method", "")
            _, _, allowed = self.router.resolve(wanted or "GET", request.path)
            response.headers["Access-Control-Allow-Methods"] = ", ".join(sorted(set(allowed) | {"OPTIONS"}))
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE_S
        return response

    def _allowed_origin(self, request: ApiRequest) -> str | None:
        origin = request.headers.get("origin")
        return origin if origin and origin in self._settings.cors_allowed_origins else None

    def _add_common_headers(self, request: ApiRequest, response: ApiResponse) -> None:
        origin = self._allowed_origin(request)
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Retry-After, Content-Disposition"
        response.headers.setdefault("Vary", "Origin")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")


def _parse_query(route: Route, query: Mapping[str, list[str]]) -> BaseModel | None:
    if route.query is None:
        if query:
            names = ", ".join(sorted(query))
            raise InvalidInput(f"unknown query parameter(s): {names}", code="unknown_query_parameter")
        return None
    flat = {k: v[0] if len(v) == 1 else v for k, v in query.items()}
    try:
        return route.query.model_validate(flat)
    except ValidationError as e:
        raise problems.validation_failed(e, location="query") from e


def _parse_body(route: Route, request: ApiRequest) -> BaseModel | None:
    if route.body is None:
        return None
    try:
        return route.body.model_validate(request.json())
    except ValidationError as e:
        raise problems.validation_failed(e, location="body") from e


def _refuse_body(route: Route, request: ApiRequest) -> ApiResponse | None:
    """413 for a body over ``MAX_BODY_BYTES``; 415 for a body a JSON route is sent in another media type.

    Checked before authentication: neither answer reveals anything, and an oversized body is not worth verifying.
    A body without ``Content-Type`` is read as JSON (curl and simple clients omit it).
    """
    if len(request.body) > MAX_BODY_BYTES:
        return problems.problem(
            413, "Payload too large", "payload_too_large", f"the request body exceeds {MAX_BODY_BYTES} bytes"
        )
    content_type = request.headers.get("content-type")
    if route.body is not None and content_type is not None and not is_json_media_type(content_type):
        return problems.problem(
            415, "Unsupported media type", "unsupported_media_type", "send the request body as application/json"
        )
    return None


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, whatever the parameters (``; charset=utf-8``)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))
