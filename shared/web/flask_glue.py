"""Converts between functions-framework's Flask request/response and our ``ApiRequest``/``ApiResponse``."""

from __future__ import annotations

from typing import Any

from shared.web.http import ApiRequest, ApiResponse, Headers

MAX_BODY_BYTES = 1_000_000


def to_api_request(request: Any) -> ApiRequest:
    """``request`` is a ``flask.Request`` (typed loosely: Flask is only a runtime dependency of the framework)."""
    # Read at most one byte past the limit: enough for the app to answer 413, without buffering a huge body.
    body = _read_at_most(request.stream, MAX_BODY_BYTES + 1)
    return ApiRequest(
        method=request.method.upper(),
        path=request.path,
        headers=Headers(dict(request.headers.items())),
        query={k: request.args.getlist(k) for k in request.args},
        body=body,
    )


def _read_at_most(stream: Any, limit: int) -> bytes:
    """Up to ``limit`` bytes: a WSGI input stream may return fewer per ``read`` than asked."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def to_flask_response(response: ApiResponse) -> Any:
    import flask

    result = flask.Response(response.body, status=response.status)
    if response.content_type:
        result.headers["Content-Type"] = response.content_type
    for key, value in response.headers.items():
        result.headers[key] = value
    return result


def unroutable(error: Any) -> Any:
    """A problem detail for a URL functions-framework itself cannot route (a path with a line break does not match
    its ``/<path:path>`` rule), instead of Flask's HTML page: every error a client sees is RFC 9457."""
    from shared.web import problems

    return to_flask_response(problems.problem(404, "Not found", "route_not_found", "no such endpoint"))
