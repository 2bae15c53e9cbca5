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

from shared.domain.usage.records import CostKind, CostLine

_ADJUSTMENT = re.compile(r"\badjustments?\b|\brounding", re.IGNORECASE)
_CREDIT = re.compile(r"\bcredits?\b|\brefund|\bgrants?\b|\bpromotion", re.IGNORECASE)


def charge_kind(kind: CostKind, amount: Decimal, label: str | None) -> CostKind:
    """The line's kind once credits and adjustments are told apart from charges."""
    text = label or ""
    if _ADJUSTMENT.search(text):
        return CostKind.ADJUSTMENT
    if amount < 0 or _CREDIT.search(text):
        return CostKind.CREDIT
    return kind


def categorised(line: CostLine) -> CostLine:
    """``line`` with its credit or adjustment kind (the same line when it is a charge)."""
    kind = charge_kind(line.kind, line.amount_usd, line.line_item)
    return line if kind is line.kind else line.model_copy(update={"kind": kind})
