"""The composition root: wires settings, adapters and services into each deploy unit's application.

Entry points call ``serve(function, request)``; tests call ``build_web_app`` with fakes. Adapters and routers are
imported lazily, per function, so a function only loads the clients it uses (cold starts matter).
"""

from __future__ import annotations

import importlib
import threading
from datetime import UTC, datetime
from typing import Any

from shared.config import Settings, get_settings
from shared.deps import Deps
from shared.log import configure_logging
from shared.web.app import CallerVerifier, UserVerifier, WebApp
from shared.web.router import Router

ROUTER_MODULES: dict[str, str] = {
    "api": "shared.api.api_routes",
    "benchmarks_aggregate": "shared.api.benchmarks_routes",
    "connect": "shared.api.connect_routes",
    "report_worker": "shared.api.report_worker_routes",
    "reports": "shared.api.reports_routes",
    "reports_dispatch": "shared.api.reports_dispatch_routes",
    "enterprise_erase": "shared.api.erase_routes",
    "key_retire": "shared.api.key_retire_routes",
    "retention_sweep": "shared.api.retention_routes",
    "sync_dispatch": "shared.api.sync_dispatch_routes",
    "sync_worker": "shared.api.sync_worker_routes",
    "webhook_deliver": "shared.api.webhook_deliver_routes",
}
"""Function name → module exposing that function's ``router``."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def load_router(function: str) -> Router:
    module = importlib.import_module(ROUTER_MODULES[function])
    router = module.router
    assert isinstance(router, Router)
    return router


def build_web_app(
    function: str,
    *,
    settings: Settings | None = None,
    router: Router | None = None,
    users: UserVerifier | None = None,
    callers: CallerVerifier | None = None,
    **overrides: Any,
) -> WebApp:
    """Build ``function``'s application; keyword ``overrides`` replace ``Deps`` members (tests pass fakes)."""
    settings = settings or get_settings()
    clock = overrides.pop("clock", None) or SystemClock()
    if users is None:
        from shared.adapters.identity import FirebaseUserVerifier

        users = FirebaseUserVerifier(settings, clock)
    if callers is None:
        from shared.adapters.identity import GoogleOidcVerifier

        callers = GoogleOidcVerifier(settings, clock)
    deps = Deps(settings, clock, **overrides)
    return WebApp(router or load_router(function), deps, users=users, callers=callers)


_apps: dict[str, WebApp] = {}
_lock = threading.Lock()


def web_app(function: str) -> WebApp:
    """The instance's application for ``function``, built on first use."""
    with _lock:
        app = _apps.get(function)
        if app is None:
            settings = get_settings()
            configure_logging(settings.project_id)
            app = _apps[function] = build_web_app(function, settings=settings)
        return app


def serve(function: str, request: Any) -> Any:
    """Handle a functions-framework (Flask) request with ``function``'s application."""
    from shared.web.flask_glue import to_api_request, to_flask_response
    from shared.web.heap import freeze_once

    response = to_flask_response(web_app(function).handle(to_api_request(request)))
    freeze_once()  # the instance is warm now: its modules and clients leave the full collections (shared.web.heap)
    return response


def reset() -> None:
    """Forget built applications (tests that change settings call this)."""
    with _lock:
        _apps.clear()
