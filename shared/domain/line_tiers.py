"""The service tier of usage whose report does not say it, settled against the cost lines that do.

OpenAI's embeddings and moderations usage reports have no ``batch`` or ``service_tier`` column (provider-apis.md
§1.2, §1.4), yet the Batch API runs embeddings at half price; the costs report's line items name the tier
(``"batch | text-embedding-3-small, input"``) and, grouped by line item, the tokens each line bills (``quantity``,
``quantity_unit`` ``tokens``). Priced at the standard rate, batch embeddings made a list payer look 50 % off.

For each (model, meter) of such usage:

* no line names another tier than standard: the usage is standard;
* every such line says how many tokens it bills: those tokens move to the line's tier (taken from the model's rows
  in a fixed order, so project attribution of the split is approximate), the rest stays standard;
* otherwise (a tiered line without a token count, or more tiered tokens than usage): the tier cannot be settled and
  the usage is left unpriced (``tier_unknown``), so reconciliation leaves it and its model's lines out of M1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from shared.domain.usage import CostLine, ServiceTier, TokenType

if TYPE_CHECKING:
    from shared.domain.normalise import RawUsage


def settle_tiers(usage: Sequence[RawUsage], lines: Sequence[CostLine]) -> list[RawUsage]:
    """``usage`` with the tier of every row whose report does not carry one settled (see the module docstring)."""
    settled = [u for u in usage if u.tier_reported]
    groups: dict[tuple[str, TokenType], list[RawUsage]] = defaultdict(list)
    for u in usage:
        if not u.tier_reported:
            groups[(u.model, u.token_type)].append(u)
    for (model, token_type), rows in sorted(groups.items()):
        tiered = [
            line
            for line in lines
            if line.model == model
            and line.token_type is token_type
            and line.service_tier not in (None, ServiceTier.STANDARD)
        ]
        settled.extend(_split(rows, tiered))
    return settled


def _split(rows: list[RawUsage], tiered: list[CostLine]) -> list[RawUsage]:
    if not tiered:
        return rows
    wanted: dict[ServiceTier, int] = defaultdict(int)
    for line in tiered:
        if line.tokens is None or line.service_tier is None:
            return [replace(u, tier_unknown=True) for u in rows]
        wanted[line.service_tier] += line.tokens
    if sum(wanted.values()) > sum(u.quantity for u in rows):
        return [replace(u, tier_unknown=True) for u in rows]
    out: list[RawUsage] = []
    pending = sorted(wanted.items())
    for row in sorted(rows, key=lambda u: (u.project_id or "", u.api_key_id or "")):
        left = row.quantity
        for i, (tier, n) in enumerate(pending):
            take = min(n, left)
            if take:
                out.append(replace(row, service_tier=tier, quantity=take))
                left -= take
                pending[i] = (tier, n - take)
        out.append(replace(row, quantity=left))
    return out
