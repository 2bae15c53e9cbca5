"""Billed against list, per provider and day: the check that keeps the effective rates honest.

Billed comes from the provider's cost endpoint, list from usage × public list price. Their ratio is the day's
effective discount; a ratio that discounts cannot explain means something is wrong (missing or lagging cost data,
a mispriced or unpriced model, a unit mistake such as cents read as dollars). Such days are flagged with reasons,
never hidden or "corrected".

Only comparable amounts enter: cost lines for tokens (plus unclassifiable ones, so nothing is hidden; never credits
or adjustments, FOCUS ChargeCategory Credit/Adjustment, which are not the price of any token) against the
priced token usage of the tiers the provider's cost endpoint covers. Anthropic's Priority Tier is billed outside
the cost report, so its usage is left out of the Anthropic comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from shared.domain.usage import (
    CostLine,
    Provider,
    Reconciliation,
    ReconciliationReason,
    ServiceTier,
    UsageRecord,
)

BILLED_ABOVE_LIST_TOLERANCE = Decimal("1.02")
"""Discounts only lower a bill, so billed above list is suspect. 2% headroom absorbs the provider rounding each
line and list-price data lagging a price change by a day; beyond that the bill has something list cannot explain
(long-context surcharges, unpriced models, a unit mistake)."""

RATIO_FLOOR = Decimal("0.3")
"""Negotiated enterprise discounts on top of tier prices (batch is already priced at batch list) stay well above 70%
off; a lower ratio points at missing cost lines (cost data lags usage by up to 48 h) or usage priced too high."""

MIN_ABSOLUTE_GAP_USD = Decimal("0.01")
"""Gaps under a cent are rounding on tiny days, not findings: ratios of fractions of a cent are noise."""

TIERS_BILLED_ELSEWHERE: dict[Provider, frozenset[ServiceTier]] = {
    Provider.ANTHROPIC: frozenset({ServiceTier.PRIORITY}),
}
"""Usage whose cost never appears in the provider's cost endpoint."""


def reconcile(provider: Provider, records: Sequence[UsageRecord], cost_lines: Sequence[CostLine]) -> Reconciliation:
    """Compare one day's comparable billed cost with its comparable list cost."""
    excluded = TIERS_BILLED_ELSEWHERE.get(provider, frozenset())
    comparable = [r for r in records if r.service_tier not in excluded]
    list_usd = sum((r.list_cost_usd for r in comparable if r.list_cost_usd is not None), Decimal(0))
    billed_usd = sum((c.amount_usd for c in cost_lines if c.kind.is_token_cost), Decimal(0))

    reasons: list[ReconciliationReason] = []
    if any(not r.priced for r in comparable):
        reasons.append(ReconciliationReason.UNPRICED_USAGE)

    ratio = billed_usd / list_usd if list_usd > 0 else None
    material = abs(billed_usd - list_usd) >= MIN_ABSOLUTE_GAP_USD
    if material:
        if ratio is None:
            reasons.append(ReconciliationReason.BILLED_WITHOUT_PRICED_USAGE)
        elif billed_usd == 0:
            reasons.append(ReconciliationReason.NO_BILLED_COST)
        elif ratio > BILLED_ABOVE_LIST_TOLERANCE:
            reasons.append(ReconciliationReason.BILLED_ABOVE_LIST)
        elif ratio < RATIO_FLOOR:
            reasons.append(ReconciliationReason.RATIO_BELOW_FLOOR)
    flagged = any(r is not ReconciliationReason.UNPRICED_USAGE for r in reasons)
    return Reconciliation(
        billed_usd=billed_usd, list_usd=list_usd, ratio=ratio, flagged=flagged, reasons=tuple(reasons)
    )
