"""Free text we accept from people and print into emails, CSVs and HTML: what may be in it, and how it is made safe.

Inputs: a free-text field (an enterprise name, a project id, a model filter) never holds control characters, line or
paragraph separators, or bidirectional overrides. A newline in a name broke every email header built from it, and an
invisible override can make a look-alike enterprise read as another.

Outputs: data written before that rule (or coming from a provider) is still printed, so ``header_text`` makes any
string safe for an email header whatever it holds.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
_SPACES = re.compile(r"\s+")


def is_unsafe_char(char: str) -> bool:
    return char in _BIDI_CONTROLS or unicodedata.category(char) in _UNSAFE_CATEGORIES


def has_unsafe_chars(value: str) -> bool:
    return any(is_unsafe_char(c) for c in value)


def _plain(value: str) -> str:
    if has_unsafe_chars(value):
        raise ValueError("must not contain control characters, line breaks or bidirectional overrides")
    return value


PLAIN_TEXT = AfterValidator(_plain)
"""Refuses (400 ``validation_failed``) a ``str`` holding a character that would break a header or a line; put it
after the ``StringConstraints`` in an ``Annotated`` (a constraint after a validator is checked before stripping)."""

PlainText = Annotated[str, PLAIN_TEXT]


def is_document_id(value: str) -> bool:
    """Whether ``value`` can name a Firestore document: no ``/``, not ``.``/``..``, not ``__…__``, ≤ 1500 bytes.

    A client-supplied id (a page token's cursor) that fails these makes the client library raise, not answer 404.
    """
    return (
        bool(value)
        and "/" not in value
        and value not in {".", ".."}
        and not (value.startswith("__") and value.endswith("__"))
        and len(value.encode("utf-8", "surrogatepass")) <= 1500
    )


def header_text(value: str) -> str:
    """``value`` on one line, for an email header: unsafe characters become spaces, runs of spaces one space."""
    cleaned = "".join(" " if is_unsafe_char(c) else c for c in value)
    return _SPACES.sub(" ", cleaned).strip()
