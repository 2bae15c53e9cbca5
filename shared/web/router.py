"""Route declarations: method, path template, who may call it, and the models that shape it.

A route's declaration is also its documentation: ``shared.web.openapi`` builds the OpenAPI document from the same
objects, so the spec cannot drift from the code.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from shared.web.context import RequestContext
    from shared.web.http import ApiResponse


class Access(enum.Enum):
    """Who may call a route."""

    PUBLIC = "public"
    USER = "user"
    """Any signed-in user."""
    MEMBER = "member"
    """A member (viewer or admin) of the selected enterprise."""
    ADMIN = "admin"
    """An admin of the selected enterprise."""
    SCHEDULER = "scheduler"
    """Cloud Scheduler's service account (OIDC)."""
    TASKS = "tasks"
    """Cloud Tasks' service account (OIDC)."""

    @property
    def internal(self) -> bool:
        return self in (Access.SCHEDULER, Access.TASKS)

    @property
    def needs_enterprise(self) -> bool:
        return self in (Access.MEMBER, Access.ADMIN)


Handler = Callable[["RequestContext"], "BaseModel | ApiResponse | dict[str, Any] | list[Any]"]

_PARAM = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    also_ok: tuple[int, ...] = ()
    """Other success statuses answered with the same body (a create that replays an earlier one answers 200)."""
    content_types: tuple[str, ...] = ("application/json",)
    tags: tuple[str, ...] = ()
    sensitive: bool = False
    """Erasure, provider keys, membership: the caller's token is also checked for revocation (a signed-out or
    disabled account's still-unexpired token is refused), at the cost of one Firebase Auth lookup."""
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = "^" + _PARAM.sub(r"(?P<\1>[^/]+)", re.escape(self.path).replace(r"\{", "{").replace(r"\}", "}"))
        object.__setattr__(self, "pattern", re.compile(regex + "$"))

    @property
    def path_params(self) -> list[str]:
        """Names of the path template's parameters, in order."""
        return _PARAM.findall(self.path)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path)
        return found.groupdict() if found else None


class Router:
    """The routes one deploy unit serves."""

    def __init__(self, function: str) -> None:
        self.function = function
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        access: Access,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        also_ok: tuple[int, ...] = (),
        content_types: tuple[str, ...] = ("application/json",),
        tags: tuple[str, ...] = (),
        sensitive: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(
                    method.upper(),
                    path,
                    handler,
                    access,
                    summary,
                    body,
                    query,
                    response,
                    status,
                    errors,
                    also_ok,
                    content_types,
                    tags,
                    sensitive,
                )
            )
            return handler

        return register

    def include(self, other: Router) -> None:
        """Serve ``other``'s routes too (route modules split one deploy unit's API by topic)."""
        taken = {(r.method, r.path) for r in self.routes}
        clashes = sorted(f"{r.method} {r.path}" for r in other.routes if (r.method, r.path) in taken)
        if clashes:
            raise ValueError(f"routes declared twice: {', '.join(clashes)}")
        self.routes.extend(other.routes)

    def resolve(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """The route for (method, path), its path parameters, and the methods the path allows."""
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            allowed.append(route.method)
            if route.method == method.upper():
                return route, params, allowed
        return None, {}, allowed
