"""Converts between functions-framework's Flask request/response and our ``ApiRequest``/``ApiResponse``."""

from __future__ import annotations

from typing import Any

from shared.web.http import ApiRequest, ApiResponse, Headers

MAX_BODY_BYTES = 1_000_000


def to_api_request(request: Any) -> ApiRequest:
    """``request`` is a ``flask.Request`` (typed loosely: Flask is only a runtime dependency of the framework)."""
    body = request.get_data(cache=False)[: MAX_BODY_BYTES + 1]
    return ApiRequest(
        method=request.method.upper(),
        path=request.path,
        headers=Headers(dict(request.headers.items())),
        query={k: request.args.getlist(k) for k in request.args},
        body=body,
    )


def to_flask_response(response: ApiResponse) -> Any:
    import flask

    result = flask.Response(response.body, status=response.status)
    if response.content_type:
        result.headers["Content-Type"] = response.content_type
    for key, value in response.headers.items():
        result.headers[key] = value
    return result
