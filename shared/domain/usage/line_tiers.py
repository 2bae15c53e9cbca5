"""The service tier of usage whose report does not say it, settled against the cost lines that do.

OpenAI's embeddings and moderations usage reports have no ``batch`` or ``service_tier`` column (provider-apis.md
§1.2, §1.4), yet the Batch API runs embeddings at half price; the costs report's line items name the tier
(``"batch | text-embedding-3-small, input"``) and, grouped by line item, the tokens each line bills (``quantity``,
``quantity_unit`` ``tokens``). Priced at the standard rate, batch embeddings made a list payer look 50 % off.

For each (model, meter) of such usage:

* no line names another tier than standard: the usage is standard;
* every such line says how many tokens it bills: those tokens move to the line's tier, taken from the rows of the
  line's project (the costs report is grouped by project; API-key attribution within a project is approximate),
  the rest stays standard;
* otherwise (a tiered line without a token count, or more tiered tokens than usage): the tier cannot be settled and
  the usage is left unpriced (``tier_unknown``), so reconciliation leaves it and its model's lines out of M1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from shared.domain.usage.records import CostLine, ServiceTier, TokenType

if TYPE_CHECKING:
    from shared.domain.usage.normalise import RawUsage


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
    if any(line.tokens is None for line in tiered) or sum(line.tokens or 0 for line in tiered) > sum(
        u.quantity for u in rows
    ):
        return [replace(u, tier_unknown=True) for u in rows]
    ordered = sorted(rows, key=lambda u: (u.project_id or "", u.api_key_id or ""))
    left = [u.quantity for u in ordered]
    out: list[RawUsage] = []
    # Lines that name their project take from that project's rows first (the costs report is grouped by project).
    for line in sorted(tiered, key=lambda c: (c.project_id is None, c.project_id or "", c.service_tier or "")):
        need = line.tokens or 0
        own = [i for i, u in enumerate(ordered) if line.project_id is None or u.project_id == line.project_id]
        candidates = own if sum(left[i] for i in own) >= need else list(range(len(ordered)))
        for i in candidates:
            take = min(need, left[i])
            if take:
                out.append(replace(ordered[i], service_tier=line.service_tier or ServiceTier.STANDARD, quantity=take))
                left[i] -= take
                need -= take
    out.extend(replace(u, quantity=n) for u, n in zip(ordered, left, strict=True) if n)
    return out
