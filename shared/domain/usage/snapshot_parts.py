"""One provider's contribution to a day of usage: the unit snapshots are built from and rebuilt from.

A ``ProviderPart`` holds only summable figures (token and money tallies, the rate basis, the reconciliation's
comparable amounts, breakdowns by model and by project), so parts add up across providers (a day) and across days
(a month), and every rate or ratio is derived afterwards from the sums.

Rate basis (benchmarks-and-index.md M2): cost lines that carry a token type go to their side (input: uncached,
cache reads and writes; output); token cost lines without one are allocated between the sides in proportion to the
day's list cost, or, when nothing is priced, to token counts. Cost lines for other products (tools, storage) are
billed but are not token cost. Tokens billed outside the cost endpoint (``TIERS_BILLED_ELSEWHERE``: Anthropic
Priority Tier) are left out of the basis, or their free-looking tokens would lower the rates.

Credits and adjustments (``shared.domain.usage.charges``) are in the bill's total (``tally.cost_usd``) and counted apart
(``credits_usd``); like other products' lines they stay out of the rate basis and the comparison. A day whose usage
is in but whose cost is not yet (``pending_days``) adds its tokens and list cost, and nothing to the rate basis or
the comparison, until a re-pull brings its cost.

Cost source: a provider-day whose bill could not be read (Google without a billing export, ``CostSource.ESTIMATED``)
counts its usage at list price in ``tally.cost_usd`` and, separately, in ``tally.estimated_cost_usd``; it adds
nothing to the rate basis nor to the reconciliation's comparison, so effective rates, the discount vs list and the
peer benchmarks only ever use billed money. ``cost_source`` says which kind a part holds (``mixed`` in a sum of
billed and estimated days).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.usage.reconcile import TIERS_BILLED_ELSEWHERE
from shared.domain.usage.records import (
    CostSource,
    Provider,
    ProviderDay,
    ServiceTier,
    TokenType,
    UsageRecord,
)
from shared.domain.usage.tally import Comparison, Mix, Money, RateBasis, Tally, merge_keyed, sum_of

DEFAULT_PROJECT = "(default)"
"""Key of usage not attributed to a project/workspace (Anthropic's default workspace)."""
REQUESTS_METER = "num_model_requests"
"""The meter under which request counts are kept (``shared.domain.providers.openai.REQUESTS_METER``)."""
REQUEST_COUNTING_PROVIDERS = frozenset({Provider.OPENAI})
"""Providers whose usage reports count requests; Anthropic's messages usage report has no request count."""

_ZERO = Decimal(0)


class ProviderPart(BaseModel):
    """One provider's figures for a day, or (summed) for a month."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cost_source: CostSource = CostSource.BILLED
    """``billed``, ``estimated`` (``tally.cost_usd`` is list-price usage, see the module docstring) or ``mixed``."""
    tally: Tally = Tally()
    rate_basis: RateBasis = RateBasis()
    comparison: Comparison = Comparison()
    mix: Mix = Mix()
    by_model: dict[str, Tally] = Field(default_factory=dict)
    """Token usage by model; cost by model from the cost lines naming one (others stay in the provider's total)."""
    by_project: dict[str, Tally] = Field(default_factory=dict)
    """By OpenAI project / Anthropic workspace (``DEFAULT_PROJECT`` when unattributed); every cost line counts."""
    reconciliation_reasons: list[str] = Field(default_factory=list)
    unpriced_models: list[str] = Field(default_factory=list)
    models_used: list[str] = Field(default_factory=list)
    price_data_versions: list[str] = Field(default_factory=list)
    savings_usd: dict[str, Money] = Field(default_factory=dict)
    """Estimated savings by optimisation opportunity; empty when no analysis ran."""
    credits_usd: Money = _ZERO
    """Credits and adjustments (FOCUS ChargeCategory Credit/Adjustment, ``shared.domain.usage.charges``): included in
    ``tally.cost_usd``, the bill's total, and in nothing else (rates, discount and benchmarks leave them out)."""
    pending_days: int = 0
    """Days whose usage is in but whose bill is not yet (``ProviderDay.cost_pending``): their tokens and list cost
    count, and nothing of them enters the rate basis or the comparison until the cost arrives."""

    def plus(self, other: ProviderPart) -> ProviderPart:
        return ProviderPart(
            cost_source=self.cost_source.plus(other.cost_source),
            tally=self.tally.plus(other.tally),
            rate_basis=self.rate_basis.plus(other.rate_basis),
            comparison=self.comparison.plus(other.comparison),
            mix=self.mix.plus(other.mix),
            by_model=merge_keyed(self.by_model, other.by_model),
            by_project=merge_keyed(self.by_project, other.by_project),
            reconciliation_reasons=union(self.reconciliation_reasons, other.reconciliation_reasons),
            unpriced_models=union(self.unpriced_models, other.unpriced_models),
            models_used=union(self.models_used, other.models_used),
            price_data_versions=union(self.price_data_versions, other.price_data_versions),
            savings_usd=add_money(self.savings_usd, other.savings_usd),
            credits_usd=self.credits_usd + other.credits_usd,
            pending_days=self.pending_days + other.pending_days,
        )


def sum_parts(parts: Sequence[ProviderPart]) -> ProviderPart:
    """``parts[0].plus(parts[1]).plus(...)`` (at least one part), built once instead of once per addition: a month's
    rollup sums some 30 days of each provider."""
    first, rest = parts[0], parts[1:]
    if not rest:
        return first
    cost_source, savings, credits, pending = first.cost_source, first.savings_usd, first.credits_usd, first.pending_days
    for part in rest:
        cost_source = cost_source.plus(part.cost_source)
        savings = add_money(savings, part.savings_usd)
        credits += part.credits_usd
        pending += part.pending_days
    by_model: dict[str, list[Tally]] = {}
    by_project: dict[str, list[Tally]] = {}
    for part in parts:
        for key, tally in part.by_model.items():
            by_model.setdefault(key, []).append(tally)
        for key, tally in part.by_project.items():
            by_project.setdefault(key, []).append(tally)
    return ProviderPart(
        cost_source=cost_source,
        tally=sum_of([p.tally for p in parts]),
        rate_basis=sum_of([p.rate_basis for p in parts]),
        comparison=sum_of([p.comparison for p in parts]),
        mix=sum_of([p.mix for p in parts]),
        by_model={key: sum_of(by_model[key]) for key in sorted(by_model)},
        by_project={key: sum_of(by_project[key]) for key in sorted(by_project)},
        reconciliation_reasons=sorted({r for p in parts for r in p.reconciliation_reasons}),
        unpriced_models=sorted({m for p in parts for m in p.unpriced_models}),
        models_used=sorted({m for p in parts for m in p.models_used}),
        price_data_versions=sorted({v for p in parts for v in p.price_data_versions}),
        savings_usd=savings,
        credits_usd=credits,
        pending_days=pending,
    )


def model_only(
    model: str,
    tally: Tally,
    unpriced: Iterable[str],
    price_data_versions: list[str],
    cost_source: CostSource = CostSource.BILLED,
    pending_days: int = 0,
) -> ProviderPart:
    """A part as a view filtered by ``model`` sees it: that model's tally, and no rate basis, reconciliation or
    projects (a part does not split a model's billed cost into input and output sides). A provider-day whose cost
    has not arrived is pending for each of its models too."""
    return ProviderPart(
        cost_source=cost_source,
        tally=tally,
        by_model={model: tally},
        unpriced_models=[m for m in unpriced if m == model],
        models_used=[model],
        price_data_versions=price_data_versions,
        pending_days=pending_days,
    )


def union(a: Iterable[str], b: Iterable[str]) -> list[str]:
    return sorted(set(a) | set(b))


def add_money(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> dict[str, Decimal]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, _ZERO) + value
    return dict(sorted(out.items()))


def provider_part(
    day: ProviderDay, price_data_version: str, savings_usd: Mapping[str, Decimal] | None = None
) -> ProviderPart:
    """The part of an ok ``ProviderDay``. A failed day has none: its previous part is kept instead."""
    if day.error_code is not None:
        raise ValueError("a failed provider day has no snapshot part")
    recon = day.reconciliation
    estimated = day.cost_source is CostSource.ESTIMATED
    tallies = _Tallies.of(day)
    return ProviderPart(
        cost_source=day.cost_source,
        tally=tallies.total,
        rate_basis=RateBasis() if estimated or day.cost_pending else rate_basis(day),
        comparison=Comparison(
            billed_usd=recon.billed_usd if recon else _ZERO,
            list_usd=recon.list_usd if recon else _ZERO,
            flagged_days=1 if recon is not None and recon.flagged else 0,
            unpriced_billed_usd=recon.unpriced_billed_usd if recon else _ZERO,
        ),
        mix=Mix(batch_tokens=tallies.batch_tokens, tokens=tallies.tokens),
        by_model=tallies.by_model,
        by_project=tallies.by_project,
        reconciliation_reasons=sorted(r.value for r in recon.reasons) if recon else [],
        unpriced_models=list(day.unpriced_models),
        models_used=sorted(tallies.models_used),
        price_data_versions=[price_data_version],
        savings_usd=dict(sorted((savings_usd or {}).items())),
        credits_usd=sum((c.amount_usd for c in day.cost_lines if c.kind.is_credit), _ZERO),
        pending_days=1 if day.cost_pending else 0,
    )


_TOKEN_SIDES = {t: (t.is_input, t.is_cache_read, t.is_cache_write) for t in TokenType}
"""Each token type's (input, cache read, cache write) flags, looked up once per record."""


class _Sum:
    """A ``Tally`` being summed: tokens by the platform's totals semantics, billed and list money, requests."""

    __slots__ = ("cache_writes", "cached", "cost", "inputs", "list_usd", "outputs", "requests")

    def __init__(self) -> None:
        self.inputs = self.outputs = self.cached = self.cache_writes = self.requests = 0
        self.cost = self.list_usd = _ZERO

    def add_record(self, record: UsageRecord) -> None:
        is_input, is_read, is_write = _TOKEN_SIDES[record.token_type]
        n = record.quantity
        if is_input:
            self.inputs += n
            self.cached += n if is_read else 0
            self.cache_writes += n if is_write else 0
        else:
            self.outputs += n
        self.list_usd += record.list_cost_usd or _ZERO

    def tally(self, counts_requests: bool, estimated: bool) -> Tally:
        return Tally(
            input_tokens=self.inputs,
            output_tokens=self.outputs,
            cached_tokens=self.cached,
            cache_write_tokens=self.cache_writes,
            cost_usd=self.cost,
            estimated_cost_usd=self.cost if estimated else _ZERO,
            list_cost_usd=self.list_usd,
            request_count=self.requests if counts_requests else None,
        )


@dataclass(frozen=True)
class _Tallies:
    """A day's tallies, in one pass over its records, cost lines and request meters: the provider's, by model (cost
    only from lines naming a model) and by project (every line; ``DEFAULT_PROJECT`` when unattributed). A request
    meter without a model counts under the model key ``""``."""

    total: Tally
    by_model: dict[str, Tally]
    by_project: dict[str, Tally]
    models_used: set[str]
    tokens: int
    batch_tokens: int

    @classmethod
    def of(cls, day: ProviderDay) -> _Tallies:
        total, by_model, by_project = _Sum(), defaultdict[str, _Sum](_Sum), defaultdict[str, _Sum](_Sum)
        tokens = batch_tokens = 0
        for r in day.records:
            total.add_record(r)
            by_model[r.model].add_record(r)
            by_project[r.project_id or DEFAULT_PROJECT].add_record(r)
            tokens += r.quantity
            batch_tokens += r.quantity if r.service_tier is ServiceTier.BATCH else 0
        for c in day.cost_lines:
            total.cost += c.amount_usd
            if c.model is not None:
                by_model[c.model].cost += c.amount_usd
            by_project[c.project_id or DEFAULT_PROJECT].cost += c.amount_usd
        counts = day.provider in REQUEST_COUNTING_PROVIDERS
        for m in day.meters:
            if m.meter == REQUESTS_METER:
                total.requests += m.quantity
                by_model[m.model or ""].requests += m.quantity
                by_project[m.project_id or DEFAULT_PROJECT].requests += m.quantity
        estimated = day.cost_source is CostSource.ESTIMATED
        return cls(
            total=total.tally(counts, estimated),
            by_model={k: by_model[k].tally(counts, estimated) for k in sorted(by_model)},
            by_project={k: by_project[k].tally(counts, estimated) for k in sorted(by_project)},
            models_used={r.model for r in day.records},
            tokens=tokens,
            batch_tokens=batch_tokens,
        )


def rate_basis(day: ProviderDay) -> RateBasis:
    """The day's effective-rate numerators and denominators (see the module docstring)."""
    elsewhere = TIERS_BILLED_ELSEWHERE.get(day.provider, frozenset())
    in_tokens = out_tokens = 0
    list_in = list_out = _ZERO
    for r in day.records:
        if r.service_tier in elsewhere:
            continue
        if _TOKEN_SIDES[r.token_type][0]:
            in_tokens += r.quantity
            list_in += r.list_cost_usd or _ZERO
        else:
            out_tokens += r.quantity
            list_out += r.list_cost_usd or _ZERO
    direct_in = direct_out = unsplit = _ZERO
    for line in day.cost_lines:
        if not line.kind.is_token_cost:
            continue
        if line.token_type is None:
            unsplit += line.amount_usd
        elif line.token_type.is_input:
            direct_in += line.amount_usd
        else:
            direct_out += line.amount_usd
    if list_in + list_out > 0:
        to_input = unsplit * list_in / (list_in + list_out)
    elif in_tokens + out_tokens > 0:
        to_input = unsplit * in_tokens / (in_tokens + out_tokens)
    else:
        to_input = unsplit
    return RateBasis(
        input_tokens=in_tokens,
        output_tokens=out_tokens,
        input_cost_usd=direct_in + to_input,
        output_cost_usd=direct_out + (unsplit - to_input),
    )
