"""Which billed lines are credits or adjustments (FOCUS ChargeCategory ``Credit`` / ``Adjustment``), not token cost.

Providers' cost endpoints mostly report charges for usage, but a bill also carries money that is not the price of
any token: a credit grant, a refund, a promotional credit, a correction or a rounding line. Counted as token cost,
such a line gives negative effective rates, a "discount" above 100 %, and a net-negative month that the peer
benchmark cannot take. The providers' documentation does not list credit lines in the cost endpoints (OpenAI's and
Anthropic's cost reports document charges; Google's billing export nets ``credits[]`` into a row's cost and marks
corrections with ``cost_type`` ``adjustment`` / ``rounding_error``), so the rule is tolerant rather than exact:

* a line whose label names an adjustment or rounding is an ``ADJUSTMENT``;
* any other line with a negative amount, or whose label names a credit, refund, grant or promotion, is a ``CREDIT``.

Both stay in the day's total bill, shown apart (``ProviderPart.credits_usd``), and never enter the rates, the
discount or the benchmarks (M1/M2).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from shared.domain.usage.records import CostKind, CostLine

_ADJUSTMENT = re.compile(r"\badjustments?\b|\brounding", re.IGNORECASE)
_CREDIT = re.compile(r"\bcredits?\b|\brefund|\bgrants?\b|\bpromotion", re.IGNORECASE)


def charge_kind(kind: CostKind, amount: Decimal, label: str | None) -> CostKind:
    """The line's kind once credits and adjustments are told apart from charges."""
    label_kind = _label_kind(label or "")
    if label_kind is CostKind.ADJUSTMENT:
        return label_kind
    if amount < 0:
        return CostKind.CREDIT
    return label_kind or kind


@lru_cache(maxsize=4096)
def _label_kind(label: str) -> CostKind | None:
    """What a label alone says: an adjustment, a credit, or nothing (a bill repeats its labels day after day)."""
    if _ADJUSTMENT.search(label):
        return CostKind.ADJUSTMENT
    if _CREDIT.search(label):
        return CostKind.CREDIT
    return None


def categorised(line: CostLine) -> CostLine:
    """``line`` with its credit or adjustment kind (the same line when it is a charge)."""
    kind = charge_kind(line.kind, line.amount_usd, line.line_item)
    return line if kind is line.kind else line.model_copy(update={"kind": kind})
