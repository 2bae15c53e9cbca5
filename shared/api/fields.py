"""Field types shared by the request models: each refuses, with a 400, an input that would otherwise fail deep
inside a service as a 500.

- ``ApiDate``: a calendar date in the years the platform can reason about; ``9999-12-31`` plus a month does not
  exist, and nothing the platform stores is older than 2000.
- ``MONTH_PATTERN``: ``YYYY-MM`` in ASCII digits (``\\d`` in a pattern also matches ``２０２５``).
- ``ShortText``: a free-text value without control characters (``shared.domain.text``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.domain.text import PLAIN_TEXT

MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2999, 12, 31)

ApiDate = Annotated[date, Field(ge=MIN_DATE, le=MAX_DATE)]
"""``YYYY-MM-DD`` between 2000-01-01 and 2999-12-31."""

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200), PLAIN_TEXT]

PageToken = Annotated[str, StringConstraints(max_length=1024, pattern=r"^[A-Za-z0-9_-]+$")]
"""An opaque ``next_page_token`` (base64url without padding)."""
