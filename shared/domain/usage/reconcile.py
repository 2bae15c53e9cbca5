"""Billed against list, per provider and day: the check that keeps the effective rates honest.

Billed comes from the provider's cost endpoint, list from usage × public list price. Their ratio is the day's
effective discount; a ratio that discounts cannot explain means something is wrong (missing or lagging cost data,
a mispriced model, a unit mistake such as cents read as dollars). Such days are flagged with reasons, never hidden
or "corrected".

**Like with like.** Only comparable amounts enter: cost lines for tokens (plus unclassifiable ones, so nothing is
hidden; never credits or adjustments, FOCUS ChargeCategory Credit/Adjustment, which are not the price of any token)
against the priced token usage of the tiers the provider's cost endpoint covers. Usage that cannot be
priced exactly (an unknown model, a meter or tier the price data lacks) leaves *both* sides: its records give no
list cost and the cost lines billed for it go to ``unpriced_billed_usd`` instead of ``billed_usd``. A cost line is
matched to unpriced usage by model, meter and, when the line names them, tier and context band; a model whose bill
cannot be split that way (a line without a meter or billing no meter of the usage, an unpriced meter without a
line) leaves the comparison whole, its priced meters too. So does any model with a line for a meter its usage does
not report (OpenAI's ``long context`` line items: the usage report has no context band). When unpriced usage exists but
the day's lines name no model at all, nothing can be matched and the whole day is unpriced. ``price_coverage`` =
billed ÷ (billed + unpriced billed) says how much of the spend the discount speaks for.

Anthropic's Priority Tier is billed outside the cost report, so its usage is left out of the Anthropic comparison.
Google's Cloud Monitoring token counts do not separate cached input (nor context bands), so list prices of that
usage are not exact (``LIST_QUANTITIES_INEXACT``): without a billing export Google's costs are estimates anyway; with
one, the list side is priced from the export's own usage quantity per SKU (``quantities_from_bill``), which does
separate cached input and context bands, and a line whose SKU gives no readable token quantity is unpriced.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from shared.domain.usage.records import (
    ContextBand,
    CostLine,
    Provider,
    Reconciliation,
    ReconciliationReason,
    ServiceTier,
    TokenType,
    UsageRecord,
)

BILLED_ABOVE_LIST_TOLERANCE = Decimal("1.02")
"""Discounts only lower a bill, so billed above list is suspect. 2% headroom absorbs the provider rounding each
line and list-price data lagging a price change by a day; beyond that the bill has something list cannot explain
(long-context surcharges, a unit mistake)."""

RATIO_FLOOR = Decimal("0.3")
"""Negotiated enterprise discounts on top of tier prices (batch is already priced at batch list) stay well above 70%
off; a lower ratio points at missing cost lines (cost data lags usage by up to 48 h) or usage priced too high."""

MIN_ABSOLUTE_GAP_USD = Decimal("0.01")
"""Gaps under a cent are rounding on tiny days, not findings: ratios of fractions of a cent are noise."""

TIERS_BILLED_ELSEWHERE: dict[Provider, frozenset[ServiceTier]] = {
    Provider.ANTHROPIC: frozenset({ServiceTier.PRIORITY}),
}
"""Usage whose cost never appears in the provider's cost endpoint."""

LIST_QUANTITIES_INEXACT: frozenset[Provider] = frozenset({Provider.GOOGLE})
"""Providers whose usage counts cannot be list-priced meter by meter (Google's Monitoring counts lump cache hits
with uncached input), so their whole billed token spend is unpriced."""

_ZERO = Decimal(0)


def reconcile(
    provider: Provider,
    records: Sequence[UsageRecord],
    cost_lines: Sequence[CostLine],
    *,
    quantities_from_bill: bool = False,
) -> Reconciliation:
    """Compare one day's comparable billed cost with its comparable list cost (see the module docstring).

    ``quantities_from_bill``: ``records`` are the bill's own quantities, line by line (Google's billing export), so
    every line must match a record's meter or it is unpriced, and the provider's usage counts need not be exact.
    """
    excluded = TIERS_BILLED_ELSEWHERE.get(provider, frozenset())
    comparable = [r for r in records if r.service_tier not in excluded]
    token_lines = [c for c in cost_lines if c.kind.is_token_cost]
    unpriced = [r for r in comparable if not r.priced]
    inexact = provider in LIST_QUANTITIES_INEXACT and not quantities_from_bill
    if inexact:
        priced_records: list[UsageRecord] = []
        priced_lines: list[CostLine] = []
        unpriced_lines = token_lines
    else:
        priced_records, priced_lines, unpriced_lines = split_unpriced(comparable, token_lines)
    if quantities_from_bill:
        unmatched = [c for c in priced_lines if not any(_bills(c, r) and c.token_type for r in priced_records)]
        priced_lines = [c for c in priced_lines if c not in unmatched]
        unpriced_lines = [*unpriced_lines, *unmatched]
    list_usd = sum((r.list_cost_usd for r in priced_records if r.list_cost_usd is not None), _ZERO)
    billed_usd = sum((c.amount_usd for c in priced_lines), _ZERO)
    unpriced_billed = sum((c.amount_usd for c in unpriced_lines), _ZERO)

    reasons: list[ReconciliationReason] = []
    if unpriced:
        reasons.append(ReconciliationReason.UNPRICED_USAGE)
    if inexact and (comparable or token_lines):
        reasons.append(ReconciliationReason.LIST_QUANTITIES_INEXACT)
    reasons.extend(_ratio_reasons(billed_usd, list_usd))
    informational = {ReconciliationReason.UNPRICED_USAGE, ReconciliationReason.LIST_QUANTITIES_INEXACT}
    return Reconciliation(
        billed_usd=billed_usd,
        list_usd=list_usd,
        ratio=billed_usd / list_usd if list_usd > 0 else None,
        flagged=any(r not in informational for r in reasons),
        reasons=tuple(reasons),
        unpriced_billed_usd=unpriced_billed,
    )


def _ratio_reasons(billed_usd: Decimal, list_usd: Decimal) -> list[ReconciliationReason]:
    if abs(billed_usd - list_usd) < MIN_ABSOLUTE_GAP_USD:
        return []
    if list_usd <= 0:
        return [ReconciliationReason.BILLED_WITHOUT_PRICED_USAGE]
    ratio = billed_usd / list_usd
    if billed_usd == 0:
        return [ReconciliationReason.NO_BILLED_COST]
    if ratio > BILLED_ABOVE_LIST_TOLERANCE:
        return [ReconciliationReason.BILLED_ABOVE_LIST]
    if ratio < RATIO_FLOOR:
        return [ReconciliationReason.RATIO_BELOW_FLOOR]
    return []


def split_unpriced(
    records: Sequence[UsageRecord], lines: Sequence[CostLine]
) -> tuple[list[UsageRecord], list[CostLine], list[CostLine]]:
    """(records that stay in the comparison, lines that stay, lines billed for unpriced usage).

    Unpriced records never stay (they have no list cost); see the module docstring for how lines are matched.
    """
    unpriced = [r for r in records if not r.priced]
    if unpriced and all(line.model is None for line in lines):
        # Unpriced usage whose bill cannot be told apart from the rest: nothing on this day compares like with like.
        return [], [], list(lines)
    models_out = {r.model for r in unpriced if not _meter_level(r.model, records, lines)}
    # A line naming a meter the usage does not have (OpenAI's "..., long context": the usage report has no band)
    # bills usage priced differently from what the report says: its model leaves whole.
    meters = _meters_by_model(records)
    models_out |= {
        c.model
        for c in lines
        if c.model is not None and c.token_type and not _bills_a_meter(c, meters.get(c.model, set()))
    }
    if not unpriced and not models_out:
        return list(records), list(lines), []
    kept_records = [r for r in records if r.priced and r.model not in models_out]
    unpriced_meters = _meters_by_model(unpriced)
    kept_lines: list[CostLine] = []
    out_lines: list[CostLine] = []
    for line in lines:
        leaves = line.model in models_out or (
            line.model is not None and _bills_a_meter(line, unpriced_meters.get(line.model, set()))
        )
        (out_lines if leaves else kept_lines).append(line)
    return kept_records, kept_lines, out_lines


def _meter_level(model: str, records: Sequence[UsageRecord], lines: Sequence[CostLine]) -> bool:
    """Whether ``model``'s bill can be split meter by meter: every line of it names its meter and bills one of the
    model's records, and every unpriced record of it has a line. Otherwise the model leaves the comparison whole."""
    own = [r for r in records if r.model == model]
    own_lines = [line for line in lines if line.model == model]
    if any(line.token_type is None or not any(_bills(line, r) for r in own) for line in own_lines):
        return False
    return all(any(_bills(line, r) for line in own_lines) for r in own if not r.priced)


_Meter = tuple[TokenType, ServiceTier, ContextBand]
"""A record's meter: what ``_bills`` matches a line on, besides the model."""


def _meters_by_model(records: Sequence[UsageRecord]) -> dict[str, set[_Meter]]:
    meters: dict[str, set[_Meter]] = {}
    for record in records:
        meters.setdefault(record.model, set()).add((record.token_type, record.service_tier, record.context_band))
    return meters


def _bills_a_meter(line: CostLine, meters: set[_Meter]) -> bool:
    """Whether ``_bills(line, r)`` for a record ``r`` of the line's model, given those records' meters."""
    if line.token_type is not None and line.service_tier is not None and line.context_band is not None:
        return (line.token_type, line.service_tier, line.context_band) in meters
    return any(
        line.token_type in (None, token_type)
        and line.service_tier in (None, tier)
        and line.context_band in (None, band)
        for token_type, tier, band in meters
    )


def _bills(line: CostLine, record: UsageRecord) -> bool:
    """Whether ``line`` is (part of) the bill of ``record``'s meter, judged on what the line names."""
    return (
        line.model == record.model
        and line.token_type in (None, record.token_type)
        and line.service_tier in (None, record.service_tier)
        and line.context_band in (None, record.context_band)
    )
