"""A sync task's raw provider pages as Firestore documents: one compressed document per task (ADR 0024).

``enterprises/{id}/raw_responses/{start}_{end}_{providers}_{chunk:02d}``: the task's pages, in pull order, as one
JSON list zlib-compressed into the bytes field ``body_json_zlib``, with ``expire_at`` (the TTL field the retention
sweep also queries). One document per task instead of one per page cuts a daily task's writes from about 13 to 1.

A document holds at most 1 MiB, so a task whose compressed pages exceed ``MAX_RAW_BODY_BYTES`` is split into a few
chunk documents (each a contiguous run of pages, ``chunk`` of ``chunks``); a single page too large on its own is
kept without its body (``body_omitted``). The id comes from the window and the providers pulled, so a retry of the
same task overwrites its documents.

Each page entry: ``provider``, ``index`` (its position in that provider's pull), ``report``, ``path``, ``query``
(``name=value`` strings, already redacted by the clients) and ``body``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.adapters.provider_http import JsonText
from shared.ports import RawPage

EXPIRE_AT = "expire_at"
BODY = "body_json_zlib"
MAX_RAW_BODY_BYTES = 900_000
"""Compressed pages above this go to another chunk document (a document holds at most 1 MiB)."""


def raw_documents(pages: Sequence[RawPage], expire_at: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The documents (id, fields) that store ``pages``, all of one task; one per window the pages cover."""
    windows: dict[tuple[Any, Any], list[RawPage]] = {}
    for page in pages:
        windows.setdefault((page.window_start, page.window_end), []).append(page)
    documents: list[tuple[str, dict[str, Any]]] = []
    for (start, end), group in sorted(windows.items()):
        providers = sorted({p.provider.value for p in group})
        chunks = _chunks([_entry(p) for p in group])
        for n, (entries, body) in enumerate(chunks):
            doc_id = f"{start:%Y%m%d}_{end:%Y%m%d}_{'+'.join(providers)}_{n:02d}"
            documents.append(
                (
                    doc_id,
                    {
                        "providers": providers,
                        "window_start": start.isoformat(),
                        "window_end": end.isoformat(),
                        "pages": len(entries),
                        "chunk": n,
                        "chunks": len(chunks),
                        BODY: body,
                        "body_omitted": any(e.get("body_omitted") for e in entries),
                        EXPIRE_AT: expire_at,
                    },
                )
            )
    return documents


def read_pages(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The page entries a raw-response document holds (for support, and for tests)."""
    pages: list[dict[str, Any]] = json.loads(zlib.decompress(document[BODY]))
    return pages


def _entry(page: RawPage) -> dict[str, Any]:
    raw = page.page
    return {
        "provider": page.provider.value,
        "index": page.index,
        "report": raw.get("report"),
        "path": raw.get("path"),
        "query": [f"{k}={v}" for k, v in raw.get("query") or ()],
        "body": raw.get("body"),
    }


def _compress(entries: list[dict[str, Any]]) -> bytes:
    return zlib.compress(("[" + ",".join(_encoded(e) for e in entries) + "]").encode(), 1)


def _encoded(entry: dict[str, Any]) -> str:
    """The entry as JSON; a body kept as received (``JsonText``) is inserted as is, not decoded and encoded again."""
    body = entry.get("body")
    if not isinstance(body, JsonText):
        return json.dumps(entry, separators=(",", ":"), sort_keys=True, default=str)
    rest = json.dumps({k: v for k, v in entry.items() if k != "body"}, separators=(",", ":"), sort_keys=True)
    return f'{{"body":{body},{rest[1:]}' if len(rest) > 2 else f'{{"body":{body}}}'


def _chunks(entries: list[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], bytes]]:
    """Contiguous runs of pages whose compressed form fits a document: all in one when they fit (the usual case),
    else halves, recursively; a lone page that does not fit loses its body."""
    body = _compress(entries)
    if len(body) <= MAX_RAW_BODY_BYTES:
        return [(entries, body)]
    if len(entries) == 1:
        stripped = [{**entries[0], "body": None, "body_omitted": True}]
        return [(stripped, _compress(stripped))]
    middle = len(entries) // 2
    return _chunks(entries[:middle]) + _chunks(entries[middle:])
