"""The local front door: one base URL that routes paths to functions the way production does.

Public paths are routed with ``infra/routes.json`` (the same table Terraform turns into the load balancer's URL
map): longest prefix wins, the path is passed unchanged. Internal functions are reachable at ``/{function}/...`` with
that prefix stripped, as at ``https://REGION-PROJECT.cloudfunctions.net/{function}`` in production; they check
their callers' OIDC tokens themselves, exactly as deployed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

ROUTES_FILE = Path(__file__).resolve().parent.parent / "infra" / "routes.json"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


@dataclass(frozen=True)
class RouteRule:
    prefix: str
    function: str


def load_routes(path: Path = ROUTES_FILE) -> list[RouteRule]:
    rules = [RouteRule(r["prefix"], r["function"]) for r in json.loads(path.read_text())["routes"]]
    return sorted(rules, key=lambda r: len(r.prefix), reverse=True)


def resolve(path: str, routes: list[RouteRule], functions: Mapping[str, str]) -> tuple[str, str] | None:
    """The function URL and the path to forward for a request path, or None."""
    for rule in routes:
        if path.startswith(rule.prefix) and rule.function in functions:
            return functions[rule.function], path
    head, _, rest = path.lstrip("/").partition("/")
    if head in functions:
        return functions[head], "/" + rest
    return None


class FrontDoor:
    """A threaded HTTP server proxying to functions; ``health`` answers ``GET /healthz``."""

    def __init__(
        self,
        host: str,
        port: int,
        functions: Mapping[str, str],
        health: Callable[[], dict[str, Any]],
        routes: list[RouteRule] | None = None,
    ) -> None:
        self.functions = dict(functions)
        self.routes = routes or load_routes()
        self._health = health
        self._client = httpx.Client(timeout=httpx.Timeout(600.0, connect=5.0))
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="front-door", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        door = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("front door: " + format, *args)

            def _proxy(self) -> None:
                door.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _proxy

        return Handler

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        if path == "/healthz":
            report = self._health()
            self._reply(request, 200 if report.get("ok") else 503, json.dumps(report).encode(), "application/json")
            return
        target = resolve(path, self.routes, self.functions)
        if target is None:
            body = json.dumps({"status": 404, "code": "route_not_found", "title": "Not found"}).encode()
            self._reply(request, 404, body, "application/problem+json")
            return
        base, forward_path = target
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        url = base + forward_path + (f"?{query}" if query else "")
        try:
            upstream = self._client.request(request.command, url, headers=headers, content=body)
        except httpx.HTTPError:
            log.warning("function at %s did not answer", base)
            problem = {"status": 502, "code": "function_unreachable", "title": "Function unreachable"}
            self._reply(request, 502, json.dumps(problem).encode(), "application/problem+json")
            return
        out_headers = [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        self._reply(request, upstream.status_code, upstream.content, None, out_headers)

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        request.send_response(status)
        if content_type:
            request.send_header("Content-Type", content_type)
        for key, value in headers or []:
            if key.lower() != "content-encoding":
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)
