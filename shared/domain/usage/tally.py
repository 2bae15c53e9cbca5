"""Summable building blocks of usage snapshots: token and money tallies, the rate basis, the reconciliation sums.

Every figure a snapshot or a monthly rollup shows is *derived* from these parts, and the parts add up: a month is the
sum of its days, an enterprise-day the sum of its providers. Rates and ratios are never averaged; they are recomputed
from summed numerators and denominators, so a month's effective rate is its cost over its tokens.

Money is ``Decimal`` and is stored as a plain decimal string (``"12.5000"``, never ``"1.25E+1"``, never a float).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

from shared.domain.usage.records import TOKENS_PER_PRICING_UNIT


def plain_decimal(value: Decimal) -> str:
    """``Decimal`` as a plain string, without an exponent."""
    return format(value, "f")


Money = Annotated[Decimal, PlainSerializer(plain_decimal, return_type=str, when_used="json")]
"""USD, exact; serialised to JSON (and Firestore) as a plain decimal string."""
Ratio = Annotated[Decimal, PlainSerializer(plain_decimal, return_type=str, when_used="json")]
"""A dimensionless ratio or a rate, stored like money so no float ever enters a document."""

DERIVED_PLACES = Decimal("1e-10")
"""Rates and ratios are rounded to 10 decimal places when derived; the sums they come from stay exact."""

BLEND_INPUT_WEIGHT = Decimal("0.75")
BLEND_OUTPUT_WEIGHT = Decimal("0.25")
"""The 3:1 input:output blend of Artificial Analysis and Epoch AI (benchmarks-and-index.md, M2)."""

_ZERO = Decimal(0)
_PART = ConfigDict(frozen=True, extra="forbid")

T = TypeVar("T", bound="Summable")


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """``numerator / denominator`` rounded to ``DERIVED_PLACES``; ``None`` when the denominator is 0."""
    if denominator == 0:
        return None
    return (numerator / denominator).quantize(DERIVED_PLACES)


def add_counts(a: int | None, b: int | None) -> int | None:
    """Counts some providers do not report: ``None`` means "not reported" and is no zero."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _add(a: Any, b: Any) -> Any:
    return add_counts(a, b) if a is None or b is None else a + b


class Summable(BaseModel):
    """A part that adds up field by field (ints, Decimals, optional counts)."""

    model_config = _PART

    def plus(self: T, other: T) -> T:
        # A model's ``__dict__`` holds exactly its fields (extra fields are forbidden), in declaration order.
        theirs = other.__dict__
        return type(self)(**{name: _add(value, theirs[name]) for name, value in self.__dict__.items()})


def sum_of(parts: Sequence[T]) -> T:
    """``parts[0].plus(parts[1]).plus(...)`` (at least one part), the same additions in the same order, built once
    instead of once per addition."""
    first = parts[0]
    if len(parts) == 1:
        return first
    fields = dict(first.__dict__)
    for part in parts[1:]:
        for name, value in part.__dict__.items():
            fields[name] = _add(fields[name], value)
    return type(first)(**fields)


def total(parts: Iterable[T], empty: T) -> T:
    result = empty
    for part in parts:
        result = result.plus(part)
    return result


def merge_keyed(a: Mapping[str, T], b: Mapping[str, T]) -> dict[str, T]:
    """Two keyed breakdowns added key by key, keys sorted (documents must not depend on arrival order)."""
    merged = dict(a)
    for key, value in b.items():
        merged[key] = merged[key].plus(value) if key in merged else value
    return dict(sorted(merged.items()))


class Tally(Summable):
    """Tokens and money of a slice of usage (a provider, a model, a project)."""

    input_tokens: int = 0
    """Every input token: uncached + cache reads + cache writes."""
    output_tokens: int = 0
    cached_tokens: int = 0
    """Cache reads."""
    cache_write_tokens: int = 0
    cost_usd: Money = _ZERO
    """Billed, as the provider's cost endpoint reports it, plus ``estimated_cost_usd`` where no bill is readable."""
    estimated_cost_usd: Money = _ZERO
    """The part of ``cost_usd`` that is an estimate at list prices (``CostSource.ESTIMATED`` days), not a bill."""
    list_cost_usd: Money = _ZERO
    """The same usage at public list prices (priced usage only; unpriced models are listed, not counted as 0)."""
    request_count: int | None = None
    """Requests, from providers whose usage reports count them; ``None`` when none does."""


class RateBasis(Summable):
    """Numerators and denominators of the effective rates (M2).

    Tokens are those whose cost the provider's cost endpoint reports (Anthropic Priority Tier is billed elsewhere
    and left out); costs are billed token costs split into input and output sides. Days whose cost is only estimated
    at list prices are left out entirely: an effective rate is what was paid, never a list-price guess.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    input_cost_usd: Money = _ZERO
    output_cost_usd: Money = _ZERO


class Comparison(Summable):
    """Comparable billed and list amounts (the reconciliation's), the basis of ``discount_vs_list`` (M1)."""

    billed_usd: Money = _ZERO
    list_usd: Money = _ZERO
    flagged_days: int = 0
    """Days whose reconciliation was flagged (0 or 1 for a day)."""
    unpriced_billed_usd: Money = _ZERO
    """Billed token spend of usage without an exact list price: in neither ``billed_usd`` nor ``list_usd``; the
    price coverage of M1 is ``billed / (billed + unpriced billed)``."""


class Mix(Summable):
    """What the optimisation figures are computed from."""

    batch_tokens: int = 0
    """Tokens (input and output) processed at the batch tier."""
    tokens: int = 0


class Rates(BaseModel):
    """Effective rates in USD per 1M tokens; ``None`` where there are no tokens on that side."""

    model_config = _PART

    effective_input_rate: Ratio | None = None
    effective_output_rate: Ratio | None = None
    effective_blended_rate: Ratio | None = None
    """``0.75 × input + 0.25 × output``; ``None`` unless both sides have tokens."""

    @classmethod
    def of(cls, basis: RateBasis) -> Rates:
        r_in = _exact_per_million(basis.input_cost_usd, basis.input_tokens)
        r_out = _exact_per_million(basis.output_cost_usd, basis.output_tokens)
        blended = None
        if r_in is not None and r_out is not None:
            blended = (BLEND_INPUT_WEIGHT * r_in + BLEND_OUTPUT_WEIGHT * r_out).quantize(DERIVED_PLACES)
        return cls(
            effective_input_rate=None if r_in is None else r_in.quantize(DERIVED_PLACES),
            effective_output_rate=None if r_out is None else r_out.quantize(DERIVED_PLACES),
            effective_blended_rate=blended,
        )


def _exact_per_million(cost: Decimal, tokens: int) -> Decimal | None:
    return cost * TOKENS_PER_PRICING_UNIT / tokens if tokens else None
