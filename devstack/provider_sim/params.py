"""Query-string parsing, time grids and page cursors shared by both providers' routes."""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

WIDTH_SECONDS = {"1m": 60, "1h": 3600, "1d": 86_400}
USAGE_LIMITS = {"1d": (7, 31), "1h": (24, 168), "1m": (60, 1440)}
"""Default and maximum ``limit`` (buckets per page) per bucket width, for both providers' usage reports."""


class BadRequest(Exception):
    """A request the provider would refuse with 400; routes render it in the provider's error shape."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class QueryArgs:
    """A multi-valued query string. Arrays come as ``k[]=v``; with ``plain_arrays`` also as repeated ``k=v``."""

    def __init__(self, items: Iterable[tuple[str, str]], *, plain_arrays: bool) -> None:
        self.multi: dict[str, list[str]] = {}
        for key, value in items:
            self.multi.setdefault(key, []).append(value)
        self.plain_arrays = plain_arrays

    def one(self, name: str) -> str | None:
        values = self.multi.get(name)
        return values[-1] if values else None

    def many(self, name: str, allowed: Iterable[str] | None = None) -> list[str]:
        values = list(self.multi.get(f"{name}[]", []))
        if self.plain_arrays:
            values += self.multi.get(name, [])
        elif name in self.multi:
            raise BadRequest(f"{name}: array parameters must be sent as {name}[]", param=name)
        if allowed is not None:
            allowed = set(allowed)
            for value in values:
                if value not in allowed:
                    raise BadRequest(f"Invalid value for '{name}': {value!r}. Expected one of {sorted(allowed)}.", name)
        return values

    def limit(self, default: int, maximum: int) -> int:
        raw = self.one("limit")
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"Invalid 'limit': {raw!r} is not an integer.", "limit") from None
        if not 1 <= value <= maximum:
            raise BadRequest(f"Invalid 'limit': must be between 1 and {maximum}, got {value}.", "limit")
        return value

    def width(self, allowed: Mapping[str, object]) -> str:
        width = self.one("bucket_width") or "1d"
        if width not in allowed:
            raise BadRequest(f"Invalid 'bucket_width': {width!r}. Expected one of {sorted(allowed)}.", "bucket_width")
        return width


@dataclass(frozen=True)
class Page:
    """The buckets of one page and where the next page starts (``None`` on the last page)."""

    buckets: list[tuple[int, int]]
    next_start: int | None


def _boundary_after(t: int, width: int) -> int:
    return (t // width + 1) * width  # epoch 0 is a UTC midnight, so this aligns to UTC minute/hour/day


def openai_page(start: int, end: int | None, now: int, width: str, limit: int) -> Page:
    """OpenAI: the first bucket starts at ``start`` (unaligned); the last ends at ``end`` when given."""
    size = WIDTH_SECONDS[width]
    bound = end if end is not None else now
    buckets: list[tuple[int, int]] = []
    s = start
    while s < bound and len(buckets) < limit:
        e = _boundary_after(s, size)
        if end is not None:
            e = min(e, end)
        buckets.append((s, e))
        s = e
    return Page(buckets, s if s < bound else None)


def anthropic_page(start: int, ending_at: int | None, now: int, width: str, limit: int) -> Page:
    """Anthropic: buckets snap to the width; with ``ending_at``, only buckets that end by then."""
    size = WIDTH_SECONDS[width]
    s = start - start % size
    buckets: list[tuple[int, int]] = []

    def more(s: int) -> bool:
        return s + size <= ending_at if ending_at is not None else s < now

    while more(s) and len(buckets) < limit:
        buckets.append((s, s + size))
        s += size
    return Page(buckets, s if more(s) else None)


def openai_cursor(next_start: int, bound: int) -> str:
    """An opaque 20-byte cursor like OpenAI's (two epochs and a checksum)."""
    body = struct.pack(">qq", next_start, bound)
    return "page_" + base64.b64encode(body + struct.pack(">I", zlib.crc32(body))).decode()


def parse_openai_cursor(page: str) -> int:
    try:
        raw = base64.b64decode(page.removeprefix("page_"), validate=True)
        next_start, _bound, check = struct.unpack(">qqI", raw)
    except (binascii.Error, struct.error, ValueError):
        raise BadRequest("Invalid 'page' cursor.", "page") from None
    if check != zlib.crc32(raw[:16]):
        raise BadRequest("Invalid 'page' cursor.", "page")
    return int(next_start)


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(raw: str, name: str) -> int:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name}: invalid RFC 3339 timestamp {raw!r}", name) from None
    if value.tzinfo is None:
        raise BadRequest(f"{name}: timestamp must carry a UTC offset", name)
    return int(value.timestamp())


def anthropic_cursor(next_start: int) -> str:
    return "page_" + base64.b64encode(rfc3339(next_start).encode()).decode()


def parse_anthropic_cursor(page: str) -> int:
    try:
        text = base64.b64decode(page.removeprefix("page_"), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest("page: invalid cursor", "page") from None
    return parse_rfc3339(text, "page")
