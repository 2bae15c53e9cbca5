"""Each provider's authentication rules and error envelopes (provider-apis.md §1.6, §2.6, §5).

OpenAI: ``Authorization: Bearer`` admin key; a project key gets 403 "Missing scopes", an unknown or revoked key 401
``invalid_api_key``; errors are ``{"error": {message, type, param, code}}``. Anthropic: ``x-api-key`` admin key and
``anthropic-version``; any other key gets 401 ``authentication_error`` "invalid x-api-key"; errors are
``{"type": "error", "error": {type, message}, "request_id"}`` with a ``request-id`` header on every response.
Neither ever echoes a key.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from devstack.provider_sim.gateway import json_response
from devstack.provider_sim.models import Provider
from devstack.provider_sim.simulator import KeyLookup

_MISSING_SCOPE = (
    "You have insufficient permissions for this operation. Missing scopes: {scope}. Check that you have the correct "
    "role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a "
    "restricted API key, that it has the necessary scopes."
)
_OPENAI_SERVER_MESSAGES = {
    529: "The engine is currently overloaded, please try again later.",
}

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ANTHROPIC_SERVER_MESSAGES = {529: "Overloaded", 504: "Request timed out"}


class OpenAIFlavor:
    """OpenAI's key header and error envelope."""

    provider: Provider = "openai"
    plain_arrays = True

    def key(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def refuse(self, request: Request, lookup: KeyLookup, request_id: str) -> Response | None:
        if self.key(request) is None:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return self._body(401, message, request_id)
        if lookup.org is None or lookup.revoked:
            message = (
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
            )
            return self._body(401, message, request_id, code="invalid_api_key")
        if lookup.kind != "admin":
            scope = "api.management.read" if "/projects" in request.url.path else "api.usage.read"
            return self._body(403, _MISSING_SCOPE.format(scope=scope), request_id)
        return None

    def error(
        self, status: int, message: str, request_id: str, *, param: str | None = None, retry_after: int | None = None
    ) -> Response:
        if status == 429:
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            message = "Rate limit reached for requests. Please try again later."
            return self._body(429, message, request_id, type_="requests", code="rate_limit_exceeded", headers=headers)
        if status >= 500:
            message = _OPENAI_SERVER_MESSAGES.get(
                status, "The server had an error while processing your request. Sorry about that!"
            )
            return self._body(status, message, request_id, type_="server_error")
        return self._body(status, message, request_id, param=param)

    def headers(self, request_id: str) -> dict[str, str]:
        return {"x-request-id": request_id}

    def _body(
        self,
        status: int,
        message: str,
        request_id: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        return json_response(body, status, {**self.headers(request_id), **(headers or {})})


class AnthropicFlavor:
    """Anthropic's key header, version header and error envelope."""

    provider: Provider = "anthropic"
    plain_arrays = False

    def key(self, request: Request) -> str | None:
        return request.headers.get("x-api-key") or None

    def refuse(self, request: Request, lookup: KeyLookup, request_id: str) -> Response | None:
        if self.key(request) is None:
            return self.error(401, "x-api-key header is required", request_id)
        if lookup.org is None or lookup.revoked or lookup.kind != "admin":
            # Non-admin keys get the same 401 as unknown ones on the Admin API (§2.6).
            return self.error(401, "invalid x-api-key", request_id)
        if not request.headers.get("anthropic-version"):
            return self.error(400, "anthropic-version: header is required", request_id)
        return None

    def error(
        self, status: int, message: str, request_id: str, *, param: str | None = None, retry_after: int | None = None
    ) -> Response:
        headers = self.headers(request_id)
        if status == 429:
            message = "Rate limited. Please retry after the indicated time."
            if retry_after is not None:
                headers["retry-after"] = str(retry_after)
        elif status >= 500:
            message = _ANTHROPIC_SERVER_MESSAGES.get(status, "Internal server error")
        body = {
            "type": "error",
            "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": request_id,
        }
        return json_response(body, status, headers)

    def headers(self, request_id: str) -> dict[str, str]:
        return {"request-id": request_id}
