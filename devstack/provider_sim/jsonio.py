"""JSON rendering that can write an exact ``Decimal`` as a JSON *number* (OpenAI's ``amount.value``).

The standard encoder can only write floats, which would round amounts. A ``Decimal`` placed in the payload is
written as a quoted sentinel and the quotes are then removed, leaving the exact digits as a number.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_SENTINEL = "\u2063dec:"
_SENTINEL_RE = re.compile(r'"\\u2063dec:(-?[0-9]+(?:\.[0-9]+)?)"')


def plain(value: Decimal) -> str:
    """A decimal in positional notation without superfluous zeros: ``1500``, ``0.1``, ``0.56177125``."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def dumps(payload: Any) -> bytes:
    """``payload`` as compact JSON; ``Decimal`` values become exact JSON numbers."""

    def default(obj: object) -> object:
        if isinstance(obj, Decimal):
            return _SENTINEL + plain(obj)
        raise TypeError(f"cannot serialise {type(obj).__name__}")

    text = json.dumps(payload, default=default, separators=(",", ":"))
    return _SENTINEL_RE.sub(r"\1", text).encode()
