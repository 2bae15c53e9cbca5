"""A document's stored size by Firestore's published rules (cloud.google.com/firestore/docs/storage-size).

Document name: each path segment's UTF-8 bytes + 1, plus 16. Fields: each name's UTF-8 bytes + 1 plus its value:
string UTF-8 bytes + 1, integer/float/timestamp 8, boolean/null 1, bytes their length, map the sum of its entries,
array the sum of its elements. Plus 32 per document. Firestore refuses a document above 1 MiB (1,048,576 bytes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

MAX_DOCUMENT_BYTES = 1_048_576


def value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float | datetime):
        return 8
    if isinstance(value, str):
        return len(value.encode()) + 1
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(k).encode()) + 1 + value_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(value_size(v) for v in value)
    raise TypeError(f"no Firestore size for {type(value).__name__}")


def document_size(path: str, fields: dict[str, Any]) -> int:
    name = sum(len(segment.encode()) + 1 for segment in path.split("/")) + 16
    return name + value_size(fields) + 32
