"""The monthly anonymous peer benchmark: from merged enterprise units to the published ``BenchmarkDocument``.

Pure and deterministic: no I/O, no clock, no randomness beyond the keyed generator of ``disclosure.noise_factor``.
The caller decides who opted in (R12) and when a month has settled (R9); this module applies the minimum-usage
eligibility rule, computes the metrics M1/M2 per unit, fills the fixed bucket lattice and applies R1-R8, R11.

Choices made here (the specification leaves them open):

* **Provider buckets** use the unit's figures for that provider (``by_provider``); a unit that used only that
  provider stands in with its totals; a multi-provider unit without a breakdown stays out of provider buckets. The
  minimum-usage rule applies to the figures a bucket uses, so a token account at one provider pads no bucket.
* **Populations are per metric.** A unit without a defined value (no list cost; no input or no output tokens) is not
  in that metric's population; R1, R7 and R8 are applied per metric. A bucket is ``published`` when at least one
  metric is, and its count band counts the units behind its published metrics.
* **R3 statistic by statistic.** A weighted mean that fails the dominance or p% rule (on its weights), or an
  unweighted mean failing the p% rule on its values, is left out; the percentiles of that metric still publish.
  Totals and weights are never published, so a suppressed weighted mean cannot be derived from other buckets.
* **Weights.** Price ratio: list spend (its weighted mean is sum billed / sum list); blended rate: tokens.

Memory (the aggregation holds every unit of the month): units may come packed (``peers.packed``) and are unpacked
one at a time; the rules run one metric at a time, on a population held as columns (``peers.population``): each
contribution's exact value and weight as text, its token in one buffer, each bucket's members as a bitset of unit
positions. A bucket's statistics read its weights, then its values, back as ``Decimal`` objects, one column at a
time; a metric's tokens are sets only while they are compared with earlier releases (``peers.release``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import TypeVar

from pydantic import SecretStr

from shared.domain.enterprise.model import Industry
from shared.domain.peers import disclosure
from shared.domain.peers.models import (
    ALL,
    INDUSTRY_BUCKETS,
    LATTICE,
    BenchmarkDocument,
    BenchmarkUnit,
    BucketResult,
    DisclosureParams,
    Figures,
    Metric,
    MetricResult,
    ProviderUsageRow,
    UsageFigures,
    industry_bucket,
    provider_bucket,
)
from shared.domain.peers.packed import PackedUnit, UnpackedFigures
from shared.domain.peers.population import IndexSet, Population
from shared.domain.peers.release import (
    MembershipTokens,
    PackedPopulations,
    Populations,
    population_key,
    release_suppressions,
    unpack_tokens,
)
from shared.domain.usage.records import TOKENS_PER_PRICING_UNIT, Provider

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Figures)

INPUT_WEIGHT = Decimal("0.75")
OUTPUT_WEIGHT = Decimal("0.25")


# --- Units --------------------------------------------------------------------------------------------------------


def merge_unit(
    enterprise_id: str,
    industry: Industry,
    rows: Iterable[ProviderUsageRow],
    admin_domains: frozenset[str] = frozenset(),
) -> BenchmarkUnit:
    """Merge every provider org/key row of one enterprise into its single unit (two keys count once)."""
    by_provider: dict[Provider, UsageFigures] = {}
    for row in rows:
        if row.enterprise_id != enterprise_id:
            raise ValueError("every row merged into a unit must belong to that enterprise")
        known = by_provider.get(row.provider)
        by_provider[row.provider] = row.usage if known is None else known + row.usage
    if not by_provider:
        raise ValueError("a unit needs at least one provider row")
    ordered = dict(sorted(by_provider.items()))
    totals = _sum_figures(ordered.values())
    return BenchmarkUnit(
        enterprise_id=enterprise_id,
        industry=industry,
        providers=frozenset(ordered),
        usage=totals,
        by_provider=ordered,
        admin_domains=admin_domains,
    )


def merge_units(rows: Iterable[ProviderUsageRow], industries: Mapping[str, Industry]) -> list[BenchmarkUnit]:
    """Group provider rows by enterprise and merge each group (sorted by enterprise id)."""
    grouped: dict[str, list[ProviderUsageRow]] = defaultdict(list)
    for row in rows:
        grouped[row.enterprise_id].append(row)
    return [
        merge_unit(enterprise_id, industries.get(enterprise_id, Industry.OTHER), grouped[enterprise_id])
        for enterprise_id in sorted(grouped)
    ]


def _sum_figures(figures: Iterable[UsageFigures]) -> UsageFigures:
    iterator = iter(figures)
    total = next(iterator)
    for figure in iterator:
        total = total + figure
    return total


def is_eligible(usage: Figures, params: DisclosureParams) -> bool:
    """THE eligibility predicate of a unit's figures for a bucket: billed money in the month, never tokens alone.

    10M tokens on a nano model cost about $1.40, so a token minimum let throw-away accounts pad a bucket. Opt-in
    (R12) and the identification of the provider organisation (``peers.units``) are decided before this.
    """
    return usage.billed_usd >= params.min_billed_usd


MIN_PRICE_COVERAGE = Decimal("0.95")
"""A unit whose M1 speaks for less than this share of its billed token spend does not enter the month: its price
ratio would describe a part of its usage only, and its rates would sit next to peers' complete ones."""


def is_price_covered(usage: Figures) -> bool:
    """Whether at least ``MIN_PRICE_COVERAGE`` of the billed token spend has an exact list price (no bill: vacuous)."""
    coverage = usage.price_coverage
    return coverage is None or coverage >= MIN_PRICE_COVERAGE


def provider_usage(unit: BenchmarkUnit, provider: Provider) -> UsageFigures | None:
    """The figures a provider bucket uses for this unit, or None if it does not belong there."""
    return _provider_figures(unit.providers, unit.usage, unit.by_provider, provider)


def _provider_figures(
    providers: frozenset[Provider],
    usage: F,
    by_provider: Mapping[Provider, F],
    provider: Provider,
) -> F | None:
    if provider in by_provider:
        return by_provider[provider]
    if providers == {provider}:
        return usage
    return None


# --- Metrics ------------------------------------------------------------------------------------------------------


def price_ratio(usage: Figures) -> Decimal | None:
    """M1: ``rho = billed / list`` (the discount vs list is ``1 - rho``); None without list cost."""
    if usage.list_usd <= 0:
        return None
    with localcontext(disclosure.DECIMAL_CONTEXT):
        return usage.billed_usd / usage.list_usd


def blended_rate(usage: Figures) -> Decimal | None:
    """M2: ``0.75 r_in + 0.25 r_out`` in USD per 1M tokens; None unless both sides have tokens."""
    if usage.input_tokens == 0 or usage.output_tokens == 0:
        return None
    with localcontext(disclosure.DECIMAL_CONTEXT):
        r_in = usage.input_billed_usd * TOKENS_PER_PRICING_UNIT / usage.input_tokens
        r_out = usage.output_billed_usd * TOKENS_PER_PRICING_UNIT / usage.output_tokens
        return INPUT_WEIGHT * r_in + OUTPUT_WEIGHT * r_out


def unit_metrics(usage: Figures) -> dict[Metric, Decimal]:
    """The enterprise's own exact metrics (shown to it alone, R10)."""
    values = {Metric.PRICE_RATIO: price_ratio(usage), Metric.BLENDED_RATE: blended_rate(usage)}
    return {metric: value for metric, value in values.items() if value is not None}


def _weight(metric: Metric, usage: Figures) -> Decimal:
    if metric is Metric.PRICE_RATIO:
        return usage.list_usd
    return Decimal(usage.input_tokens + usage.output_tokens)


# --- Populations and publication ------------------------------------------------------------------------------------


_METRICS: dict[Metric, Callable[[Figures], Decimal | None]] = {
    Metric.PRICE_RATIO: price_ratio,
    Metric.BLENDED_RATE: blended_rate,
}


def unit_buckets(unit: BenchmarkUnit, params: DisclosureParams) -> dict[str, UsageFigures]:
    """The buckets an (eligible) unit contributes to, with the figures each one uses."""
    return _placements(unit.industry, unit.providers, unit.usage, unit.by_provider, params)


def _placements(
    industry: Industry,
    providers: frozenset[Provider],
    usage: F,
    by_provider: Mapping[Provider, F],
    params: DisclosureParams,
) -> dict[str, F]:
    placed = {ALL: usage, industry_bucket(industry): usage}
    for provider in sorted(providers):
        figures = _provider_figures(providers, usage, by_provider, provider)
        if figures is not None and is_eligible(figures, params) and is_price_covered(figures):
            placed[provider_bucket(provider)] = figures
    return placed


def _population(units: Sequence[PackedUnit], metric: Metric, params: DisclosureParams, key: bytes) -> Population:
    """One metric's contributions and membership tokens, bucket by bucket, in unit order (``peers.population``)."""
    population = Population(LATTICE)
    value_of = _METRICS[metric]
    tokens = MembershipTokens(key)
    for position, unit in enumerate(units):
        providers, usage, by_provider = unit.breakdown()
        # A unit's figures sit in several buckets (all, its industry, a one-provider unit's provider): each figures
        # object's contribution and token (the keyed hash, the costly part) are computed once and shared by its
        # buckets. By identity, not equality: Decimal("0.5") == Decimal("0.50") but their tokens differ.
        placed: dict[int, tuple[UnpackedFigures, list[str]]] = {}
        for bucket, figures in _placements(unit.industry, providers, usage, by_provider, params).items():
            placed.setdefault(id(figures), (figures, []))[1].append(bucket)
        for figures, buckets in placed.values():
            value = value_of(figures)
            if value is not None:
                token = tokens(unit.enterprise_id, value)
                population.add(position, value, _weight(metric, figures), token, buckets)
    return population


def publishable_buckets(
    members: Mapping[str, IndexSet],
    params: DisclosureParams,
    ids: Sequence[str],
    domains: Mapping[str, Collection[str]],
    also_suppressed: Iterable[str] = (),
) -> set[str]:
    """R1 (units and distinct admin domains), then R7 across all buckets, then R8 on the industry partition, for one
    metric. ``members``: each bucket's units by their position in ``ids``; ``domains``: each unit's admin domains,
    by id; ``also_suppressed``: buckets R7 suppresses against earlier releases (``peers.release``)."""
    published = {
        bucket
        for bucket in LATTICE
        if len(members[bucket]) >= params.min_units
        and disclosure.distinct_domains((ids[unit] for unit in members[bucket]), domains) >= params.min_domains
    }
    published -= disclosure.complement_suppressions(members, published, LATTICE, params.min_units)
    published -= set(also_suppressed)
    industries = {bucket: members[bucket] for bucket in INDUSTRY_BUCKETS}
    published -= disclosure.partition_suppressions(industries, published, LATTICE, params.min_units)
    return published


@dataclass(frozen=True)
class _Context:
    month: str
    params: DisclosureParams
    key: bytes


def _noisy(
    ctx: _Context, raw: Decimal, ids: Sequence[str], statistic: str, forbidden: Container[Decimal]
) -> Decimal | None:
    factor = disclosure.noise_factor(ctx.key, ids, ctx.month, statistic, ctx.params.noise_sd)
    noisy = raw * factor
    return disclosure.clear_of_units(disclosure.round_sig(noisy), raw=noisy, forbidden=forbidden)


def _metric_result(
    ctx: _Context, bucket: str, metric: Metric, population: Population, contributors: Sequence[str]
) -> MetricResult:
    # A bucket's exact figures as Decimals one column at a time (the largest bucket holds most units): its weights
    # (and its values one at a time beside them), then its values.
    weights = list(population.weights(bucket))
    raw_weighted = None
    if disclosure.dominance_ok(weights, ctx.params.dominance_cap) and disclosure.p_percent_ok(
        weights, ctx.params.p_percent
    ):
        weighted_sum = sum((v * w for v, w in zip(population.values(bucket), weights, strict=True)), Decimal(0))
        raw_weighted = weighted_sum / sum(weights, Decimal(0))
    del weights
    values = list(population.values(bucket))
    percentiles = disclosure.publish_percentiles(values, ctx.params)  # first: its working sets are freed first
    forbidden = disclosure.UnitValues(values)  # only this statistic's contributors: other units must not shape it
    statistic = f"{bucket}/{metric.value}"  # the bucket is part of the seed: independent noise per bucket (R5)
    mean = weighted = discount = None
    if disclosure.p_percent_ok(values, ctx.params.p_percent):
        mean = _noisy(ctx, sum(values, Decimal(0)) / len(values), contributors, f"{statistic}.mean", forbidden)
        if metric is Metric.PRICE_RATIO and mean is not None:
            discount = disclosure.round_sig(1 - mean)
    if raw_weighted is not None:
        weighted = _noisy(ctx, raw_weighted, contributors, f"{statistic}.weighted_mean", forbidden)
    return MetricResult(
        status="published",
        percentiles=percentiles,
        mean=mean,
        weighted_mean=weighted,
        average_discount_vs_list=discount,
    )


@dataclass(frozen=True)
class Release:
    """A computed month: the document to publish and what it was computed from (``peers.release``)."""

    document: BenchmarkDocument
    packed_populations: PackedPopulations
    """Membership tokens of each published (bucket, metric), packed as they are stored."""
    contributors: frozenset[str]
    """Ids of the eligible units the release was computed from."""

    @property
    def populations(self) -> Populations:
        """Membership tokens of each published (bucket, metric)."""
        return {key: unpack_tokens(blob) for key, blob in self.packed_populations.items()}


def compute_benchmarks(
    units: Sequence[BenchmarkUnit | PackedUnit],
    month: str,
    params: DisclosureParams,
    noise_key: bytes | SecretStr,
    computed_at: datetime,
) -> BenchmarkDocument:
    """The month's published document, without earlier releases to check against (see ``compute_release``)."""
    return compute_release(units, month, params, noise_key, computed_at).document


def compute_release(
    units: Sequence[BenchmarkUnit | PackedUnit],
    month: str,
    params: DisclosureParams,
    noise_key: bytes | SecretStr,
    computed_at: datetime,
    earlier: Sequence[PackedPopulations] = (),
    version: int = 1,
) -> Release:
    """Build the month's release from merged, opted-in units, as models or packed (ineligible ones are dropped here).

    ``earlier``: the populations of releases already published (the month's earlier versions, the previous month);
    a bucket differing from one of them by 1 to ``min_units - 1`` members is suppressed (R7 across releases).

    Raises:
        ValueError: two units share an id (form units with ``peers.units.form_units`` first), or the noise key
            is empty.
    """
    packed = [unit if isinstance(unit, PackedUnit) else PackedUnit.of(unit) for unit in units]
    if len({unit.enterprise_id for unit in packed}) != len(packed):
        raise ValueError("units must be merged per enterprise before benchmarking")
    key = noise_key.get_secret_value().encode() if isinstance(noise_key, SecretStr) else noise_key
    if not key:
        raise ValueError("the benchmark noise key must not be empty")
    eligible = [unit for unit in packed if _enters(unit.usage(), params)]
    ids = [unit.enterprise_id for unit in eligible]
    domains = {unit.enterprise_id: unit.admin_domains for unit in eligible}
    ctx = _Context(month, params, key)
    results: dict[str, dict[Metric, MetricResult]] = {bucket: {} for bucket in LATTICE}
    # Each bucket's contributors to either metric, by their position in ``eligible``: only their number is published.
    contributors = {bucket: IndexSet() for bucket in LATTICE}
    published_populations: PackedPopulations = {}
    with localcontext(disclosure.DECIMAL_CONTEXT):
        for metric in Metric:
            released = _metric_release(ctx, metric, eligible, ids, domains, earlier)
            for bucket, (result, members, tokens) in released.items():
                results[bucket][metric] = result
                contributors[bucket] |= members
                published_populations[population_key(bucket, metric)] = tokens
    buckets = {bucket: _bucket_result(results[bucket], len(contributors[bucket])) for bucket in LATTICE}
    logger.info(
        "peer benchmark computed",
        extra={"month": month, "published_buckets": sum(b.status == "published" for b in buckets.values())},
    )
    document = BenchmarkDocument(month=month, computed_at=computed_at, version=version, buckets=buckets)
    return Release(document, published_populations, frozenset(ids))


def _metric_release(
    ctx: _Context,
    metric: Metric,
    units: Sequence[PackedUnit],
    ids: Sequence[str],
    domains: Mapping[str, Collection[str]],
    earlier: Sequence[PackedPopulations],
) -> dict[str, tuple[MetricResult, IndexSet, bytes]]:
    """One metric's published buckets, in lattice order: each one's statistics, members and packed tokens.

    A function of its own so that one metric's population is freed before the next metric's is computed.
    """
    population = _population(units, metric, ctx.params, ctx.key)
    stale: set[str] = set()
    if earlier:  # the tokens of every bucket as sets: for this comparison only, and only when there is one
        populations = {population_key(b, metric): population.tokens(b) for b in LATTICE if population.size(b)}
        stale = release_suppressions(populations, earlier, ctx.params.min_units)
        del populations
    again = {bucket for bucket in LATTICE if population_key(bucket, metric) in stale}
    members = {bucket: population.members(bucket) for bucket in LATTICE}
    published = sorted(publishable_buckets(members, ctx.params, ids, domains, again), key=LATTICE.index)
    return {
        bucket: (
            _metric_result(ctx, bucket, metric, population, [ids[unit] for unit in members[bucket]]),
            members[bucket],
            population.packed_tokens(bucket),
        )
        for bucket in published
    }


def _enters(usage: Figures, params: DisclosureParams) -> bool:
    return is_eligible(usage, params) and is_price_covered(usage)


def _bucket_result(metrics: dict[Metric, MetricResult], contributors: int) -> BucketResult:
    if not metrics:
        return BucketResult(status="insufficient_peers")
    suppressed = MetricResult(status="insufficient_peers")
    ordered = {metric: metrics.get(metric, suppressed) for metric in Metric}
    return BucketResult(status="published", count_band=disclosure.count_band(contributors), metrics=ordered)
