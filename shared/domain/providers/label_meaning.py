"""What a bill's label says (an OpenAI cost line item, a Google Cloud Billing SKU description): its kind of charge
and, when it names one, the token meter it bills. Parsed once per distinct label by each provider's rules."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.usage.records import ContextBand, CostKind, ServiceTier, TokenType


@dataclass(frozen=True)
class LabelMeaning:
    kind: CostKind
    model: str | None = None
    token_type: TokenType | None = None
    service_tier: ServiceTier | None = None
    context_band: ContextBand | None = None
