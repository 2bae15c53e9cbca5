"""A flat discount shows as itself, whatever the mix (issue 17): a property over every meter.

Every example is one provider-day whose usage is a random mix of meters, each billed at its list price × (1 - d)
for one flat ``d``, in cost lines shaped as the providers' cost endpoints give them (OpenAI ``line_item`` per model,
meter and tier with token ``quantity``, provider-apis.md §1.4; Anthropic cost report rows per model, token type,
service tier and context window, §2). The shown discount (``1 - billed/list``) must equal ``d`` within 0.05
percentage points, or, when nothing in the mix has an exact list price, no discount is shown; usage without an exact
list price is listed and its billed cost leaves both sides.

"List" for the meters the price data knows is genai-prices' price (the reference the platform quotes). The traps
are billed at what the provider really charges, which the data cannot say: gpt-4o audio (OpenAI's gpt-4o audio
rate, $40 per 1M), Claude Sonnet 4 above 200k input tokens (Anthropic's long-context rate, 2× input: $6), batch
embeddings (half the standard $0.02, found only in the cost line items), and a private model ($7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.usage.normalise import DayPart, RawUsage, build_day
from shared.domain.usage.pricing import UnitPrice, list_unit_price
from shared.domain.usage.records import ContextBand, CostKind, CostLine, Provider, ServiceTier, TokenType

DAY = date(2026, 11, 2)
T, S = TokenType, ServiceTier
SHORT, LONG = ContextBand.STANDARD, ContextBand.LONG
TOLERANCE = Decimal("0.0005")


@dataclass(frozen=True)
class Meter:
    model: str
    token_type: TokenType
    tier: ServiceTier = S.STANDARD
    band: ContextBand = SHORT
    true_list: Decimal | None = None
    """What the provider charges at list where the price data cannot say; ``None``: the data's price."""
    tier_in_usage: bool = True
    """``False``: the usage report has no tier column (embeddings); only the cost line names it."""
    billed_elsewhere: bool = False

    def list_per_mtok(self, provider: Provider) -> Decimal:
        if self.true_list is not None:
            return self.true_list
        price = list_unit_price(provider, self.model, self.token_type, self.tier, self.band, DAY)
        assert isinstance(price, UnitPrice), f"{self} should be priced"
        return price.usd_per_mtok

    @property
    def exact(self) -> bool:
        return self.true_list is None


_4O, _MINI, _O4, _RT = "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "o4-mini-2025-04-16", "gpt-realtime"
_EMB, _SONNET, _SONNET4 = "text-embedding-3-small", "claude-sonnet-4-5-20250929", "claude-sonnet-4-20250514"
OPENAI_METERS = (
    Meter(_4O, T.UNCACHED_INPUT),
    Meter(_4O, T.CACHE_READ),
    Meter(_4O, T.CACHE_WRITE_5M),
    Meter(_4O, T.OUTPUT),
    Meter(_4O, T.UNCACHED_INPUT, S.BATCH),
    Meter(_4O, T.OUTPUT, S.BATCH),
    Meter(_4O, T.UNCACHED_INPUT, S.PRIORITY),
    Meter(_4O, T.OUTPUT, S.PRIORITY),
    Meter(_MINI, T.UNCACHED_INPUT),
    Meter(_MINI, T.OUTPUT),
    Meter(_O4, T.UNCACHED_INPUT, S.FLEX),
    Meter(_O4, T.OUTPUT, S.FLEX),
    Meter(_RT, T.UNCACHED_INPUT),
    Meter(_RT, T.OUTPUT),
    Meter(_RT, T.AUDIO_INPUT),
    Meter(_RT, T.AUDIO_CACHE_READ),
    Meter(_RT, T.AUDIO_OUTPUT),
    Meter(_RT, T.IMAGE_INPUT),
    Meter(_RT, T.IMAGE_CACHE_READ),
    Meter("gpt-image-1", T.IMAGE_INPUT),
    Meter(_EMB, T.UNCACHED_INPUT, tier_in_usage=False),
    Meter(_EMB, T.UNCACHED_INPUT, S.BATCH, tier_in_usage=False),
    Meter(_4O, T.AUDIO_INPUT, true_list=Decimal(40)),
    Meter("acme-private-model", T.UNCACHED_INPUT, true_list=Decimal(7)),
    Meter("acme-private-model", T.OUTPUT, true_list=Decimal(21)),
)
ANTHROPIC_METERS = (
    Meter(_SONNET, T.UNCACHED_INPUT),
    Meter(_SONNET, T.CACHE_READ),
    Meter(_SONNET, T.CACHE_WRITE_5M),
    Meter(_SONNET, T.CACHE_WRITE_1H),
    Meter(_SONNET, T.OUTPUT),
    Meter(_SONNET, T.UNCACHED_INPUT, band=LONG),
    Meter(_SONNET, T.CACHE_READ, band=LONG),
    Meter(_SONNET, T.OUTPUT, band=LONG),
    Meter(_SONNET, T.UNCACHED_INPUT, S.BATCH),
    Meter(_SONNET, T.OUTPUT, S.BATCH),
    Meter(_SONNET, T.OUTPUT, S.PRIORITY, billed_elsewhere=True),
    Meter("claude-haiku-4-5-20251001", T.UNCACHED_INPUT),
    Meter("claude-haiku-4-5-20251001", T.OUTPUT),
    Meter(_SONNET4, T.UNCACHED_INPUT),
    Meter(_SONNET4, T.UNCACHED_INPUT, band=LONG, true_list=Decimal(6)),
    Meter("claude-private-1", T.OUTPUT, true_list=Decimal(30)),
)
METERS = {Provider.OPENAI: OPENAI_METERS, Provider.ANTHROPIC: ANTHROPIC_METERS}


def provider_day(provider: Provider, mix: dict[Meter, int], discount: Decimal):  # type: ignore[no-untyped-def]
    usage, lines = [], []
    for meter, tokens in mix.items():
        tier = meter.tier if meter.tier_in_usage else S.STANDARD
        raw = RawUsage(meter.model, None, None, tier, meter.band, meter.token_type, tokens, meter.tier_in_usage)
        usage.append(raw)
        if meter.billed_elsewhere:
            continue
        amount = Decimal(tokens) * meter.list_per_mtok(provider) / Decimal(10**6) * (1 - discount)
        lines.append(
            CostLine(
                provider=provider,
                day=DAY,
                amount_usd=amount,
                kind=CostKind.TOKENS,
                model=meter.model,
                token_type=meter.token_type,
                service_tier=meter.tier,
                context_band=meter.band,
                tokens=tokens,
            )
        )
    return build_day(provider, DAY, [DayPart(usage=tuple(usage), costs=tuple(lines))])


@st.composite
def mixes(draw: st.DrawFn) -> tuple[Provider, dict[Meter, int], Decimal]:
    provider = draw(st.sampled_from(sorted(METERS)))
    chosen = draw(st.lists(st.sampled_from(METERS[provider]), min_size=1, max_size=12, unique=True))
    mix = {m: draw(st.integers(min_value=1, max_value=50_000_000)) for m in chosen}
    discount = draw(st.decimals(min_value=0, max_value=Decimal("0.6"), places=3))
    return provider, mix, discount


@settings(max_examples=300, deadline=None)
@given(mixes())
def test_a_flat_discount_shows_as_itself_or_the_usage_is_listed_unpriced(
    example: tuple[Provider, dict[Meter, int], Decimal],
) -> None:
    provider, mix, discount = example
    day = provider_day(provider, mix, discount)
    recon = day.reconciliation
    assert recon is not None
    compared = [m for m in mix if m.exact and not m.billed_elsewhere]
    if compared:
        assert recon.ratio is not None
        assert abs((1 - recon.ratio) - discount) <= TOLERANCE
    else:
        assert recon.ratio is None
    traps = [m for m in mix if not m.exact]
    trap_billed = sum(
        (Decimal(mix[m]) * m.list_per_mtok(provider) / Decimal(10**6) * (1 - discount) for m in traps), Decimal(0)
    )
    assert recon.unpriced_billed_usd >= trap_billed  # every trap's bill left both sides (perhaps with its model's)
    assert {m.model for m in traps} <= {r.model for r in day.records if not r.priced}
