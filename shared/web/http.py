"""Framework-neutral request and response values.

Entry points receive a Flask request from functions-framework; ``shared.web.flask_glue`` converts it to an
``ApiRequest`` so nothing below the entry point depends on Flask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from shared.errors import InvalidInput

MAX_JSON_DEPTH = 32
"""No request model nests deeper; a deeper body only makes validation (which recurses too) work harder."""


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` nests containers more than ``limit`` deep (iterative: the check must not recurse itself)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = {k.lower(): v for k, v in (items or {}).items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    headers: Headers = field(default_factory=Headers)
    query: Mapping[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    path_params: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON; an empty or malformed body is a 400 with a stable code."""
        if not self.body:
            raise InvalidInput("request body must be a JSON object", code="body_required")
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            # RecursionError: the decoder recurses once per level of nesting ("[[[[...").
            raise InvalidInput("request body is not valid JSON", code="malformed_json") from e
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise InvalidInput(f"request body nests deeper than {MAX_JSON_DEPTH} levels", code="body_too_deep")
        return data

    def bearer_token(self) -> str | None:
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def with_path_params(self, params: Mapping[str, str]) -> ApiRequest:
        return ApiRequest(self.method, self.path, self.headers, self.query, self.body, dict(params))


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, *, content_type: str = "application/json") -> ApiResponse:
        if isinstance(data, BaseModel):
            raw = data.model_dump_json(by_alias=True).encode()
        else:
            raw = json.dumps(data, default=str, separators=(",", ":")).encode()
        return cls(status=status, body=raw, content_type=content_type)

    @classmethod
    def empty(cls, status: int = 204) -> ApiResponse:
        return cls(status=status, body=b"", content_type="")
