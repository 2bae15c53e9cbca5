"""The anonymous peer benchmark's models: inputs (units, parameters) and the published document.

Inputs are per enterprise (a ``BenchmarkUnit``), already merged across its provider orgs and keys. The output, a
``BenchmarkDocument``, holds published figures only: percentiles, noisy rounded means and count bands. It never holds
a minimum, a maximum, a total, an exact count, a contributor id or a disclosure parameter.

Published figures are ``Decimal`` and serialise as JSON strings in plain notation (``"1200"``, never ``"1.2E+3"``),
so the same inputs always give byte-identical JSON.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Protocol, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from shared.domain.enterprise.model import Industry
from shared.domain.usage.records import Provider, price_coverage

METHOD_VERSION = "peer-benchmark/2"
"""Version of the method (rules R1-R12 as implemented here); bump it when a published figure would change."""

_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")

NonNegativeUsd = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
PublishedFigure = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str)]
"""A published number: a ``Decimal`` rendered in plain notation."""


def _check_month(value: str) -> str:
    if not _MONTH.match(value):
        raise ValueError("month must be YYYY-MM")
    return value


Month = Annotated[str, AfterValidator(_check_month)]


class Metric(StrEnum):
    """The peer metrics. For both, LOWER is better for the enterprise (it pays less)."""

    PRICE_RATIO = "price_ratio"
    """M1: ``rho = billed / list``; the discount vs list is ``1 - rho``."""
    BLENDED_RATE = "blended_rate"
    """M2: ``R = 0.75 r_in + 0.25 r_out`` in USD per 1M tokens."""


class CountBand(StrEnum):
    """R6: counts are published only as bands."""

    FEWER_THAN_10 = "fewer than 10"
    FROM_10_TO_19 = "10–19"
    FROM_20_TO_49 = "20–49"
    FROM_50_TO_99 = "50–99"
    HUNDRED_PLUS = "100+"


PERCENTILES: tuple[tuple[str, Decimal], ...] = (
    ("p10", Decimal("0.10")),
    ("p25", Decimal("0.25")),
    ("p50", Decimal("0.50")),
    ("p75", Decimal("0.75")),
    ("p90", Decimal("0.90")),
)
"""The published percentile points, in ascending order; p10 and p90 are the tails (R2)."""
TAIL_PERCENTILES = frozenset({"p10", "p90"})


ALL = "all"


def industry_bucket(industry: Industry) -> str:
    """The bucket id of an industry, e.g. ``industry:finance``."""
    return f"industry:{industry.value}"


def provider_bucket(provider: Provider) -> str:
    """The bucket id of a provider, e.g. ``provider:openai``."""
    return f"provider:{provider.value}"


INDUSTRY_BUCKETS: tuple[str, ...] = tuple(industry_bucket(industry) for industry in Industry)
LATTICE: tuple[str, ...] = (ALL, *INDUSTRY_BUCKETS, *(provider_bucket(provider) for provider in Provider))
"""The fixed, pre-declared buckets, in document order: ``all``, then industries, then providers. Nothing else."""


class Figures(Protocol):
    """What the metrics and the eligibility rules read of a month's figures: a ``UsageFigures``, or the rules' own
    unpacked copy of one (``peers.packed.UnpackedFigures``)."""

    @property
    def billed_usd(self) -> Decimal: ...
    @property
    def list_usd(self) -> Decimal: ...
    @property
    def unpriced_billed_usd(self) -> Decimal: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def input_billed_usd(self) -> Decimal: ...
    @property
    def output_billed_usd(self) -> Decimal: ...
    @property
    def price_coverage(self) -> Decimal | None: ...


class UsageFigures(BaseModel):
    """One month of usage and cost, for an enterprise or for one of its providers. Money in USD."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    billed_usd: NonNegativeUsd
    list_usd: NonNegativeUsd
    """The same usage priced at the model creators' public list prices (see M1)."""
    input_tokens: int = Field(ge=0)
    """Every input token: uncached, cache reads and cache writes."""
    output_tokens: int = Field(ge=0)
    input_billed_usd: NonNegativeUsd
    """Billed cost of the input side (allocated in proportion to list cost when the provider gives no split)."""
    output_billed_usd: NonNegativeUsd
    unpriced_billed_usd: NonNegativeUsd = Decimal(0)
    """Billed token spend of usage without an exact list price, in neither ``billed_usd`` nor ``list_usd``."""

    @property
    def price_coverage(self) -> Decimal | None:
        """Share of the billed token spend that M1 speaks for; ``None`` when nothing was billed."""
        return price_coverage(self.billed_usd, self.unpriced_billed_usd)

    def __add__(self, other: UsageFigures) -> UsageFigures:
        return UsageFigures(
            billed_usd=self.billed_usd + other.billed_usd,
            list_usd=self.list_usd + other.list_usd,
            unpriced_billed_usd=self.unpriced_billed_usd + other.unpriced_billed_usd,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            input_billed_usd=self.input_billed_usd + other.input_billed_usd,
            output_billed_usd=self.output_billed_usd + other.output_billed_usd,
        )


class ProviderUsageRow(BaseModel):
    """One provider org or key of an enterprise for the month, before merging."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enterprise_id: str = Field(min_length=1)
    provider: Provider
    usage: UsageFigures


class BenchmarkUnit(BaseModel):
    """One customer organisation (a unit), merged across all of its provider orgs and keys.

    ``enterprise_id`` names it: the enterprise whose figures stand for the unit when several enterprises connected
    the same provider organisation (``peers.units.form_units``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enterprise_id: str = Field(min_length=1)
    industry: Industry
    providers: frozenset[Provider]
    usage: UsageFigures
    by_provider: dict[Provider, UsageFigures] = Field(default_factory=dict)
    """Optional per-provider figures; provider buckets use them (see ``benchmarks.provider_usage``)."""
    admin_domains: frozenset[str] = frozenset()
    """The email domains of its admins whose addresses are verified (a bucket needs ``min_domains`` of them)."""

    @model_validator(mode="after")
    def _breakdown_within_providers(self) -> Self:
        if not set(self.by_provider) <= self.providers:
            raise ValueError("by_provider names a provider the unit did not use")
        return self


class DisclosureParams(BaseModel):
    """The disclosure-control parameters (R1-R5). Kept out of every published document and API response."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_units: int = Field(default=10, ge=3)
    """R1/R2: units needed to publish anything (and p25/p50/p75 and the mean)."""
    tail_min_units: int = Field(default=20, ge=3)
    """R2: units needed to publish p10 and p90."""
    dominance_cap: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    """R3: the largest share of a weighted statistic's weight one unit may hold."""
    p_percent: Decimal = Field(default=Decimal("0.10"), ge=0)
    """R3: the p% rule's p."""
    noise_sd: Decimal = Field(default=Decimal("0.02"), ge=0, le=Decimal("0.1"))
    """R5: standard deviation of the multiplicative noise on means."""
    min_billed_usd: Decimal = Field(default=Decimal("200"), ge=0)
    """Eligibility: minimum billed spend in the month (tokens alone never qualify: 10M cost about $1)."""
    min_domains: int = Field(default=10, ge=1)
    """R1 (sybils): distinct verified admin email domains a bucket's contributors must come from."""


class MetricResult(BaseModel):
    """The published statistics of one metric in one bucket. Absent statistics are not published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["published", "insufficient_peers"]
    percentiles: dict[str, PublishedFigure] = Field(default_factory=dict)
    """Published points among p10..p90, ascending; p10/p90 only with enough units (R2)."""
    mean: PublishedFigure | None = None
    """Unweighted mean over units, rounded to 2 s.f. with multiplicative noise (R5)."""
    weighted_mean: PublishedFigure | None = None
    """Price ratio: list-spend weighted (= sum billed / sum list); blended rate: token weighted (R3, R5)."""
    average_discount_vs_list: PublishedFigure | None = None
    """Price ratio only: ``1 - mean``, the peers' average discount vs list."""

    @field_validator("percentiles")
    @classmethod
    def _canonical_percentiles(cls, points: dict[str, Decimal]) -> dict[str, Decimal]:
        # Ascending point order, whatever order a stored copy comes back in: the JSON stays byte-identical.
        order = [name for name, _ in PERCENTILES]
        if not set(points) <= set(order):
            raise ValueError("unknown percentile point")
        return {name: points[name] for name in order if name in points}


class BucketResult(BaseModel):
    """One bucket of the lattice. ``insufficient_peers`` carries no statistics and no count (R11)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["published", "insufficient_peers"]
    count_band: CountBand | None = None
    metrics: dict[Metric, MetricResult] = Field(default_factory=dict)

    @field_validator("metrics")
    @classmethod
    def _canonical_metrics(cls, metrics: dict[Metric, MetricResult]) -> dict[Metric, MetricResult]:
        return {metric: metrics[metric] for metric in Metric if metric in metrics}


class BenchmarkDocument(BaseModel):
    """``benchmarks/{month}``: the month's published peer benchmark, one entry per bucket of the lattice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    month: Month
    computed_at: AwareDatetime
    method_version: str = METHOD_VERSION
    version: int = Field(default=1, ge=1)
    """The month's published version: 1, then one more per forced re-run (``peers.release``)."""
    buckets: dict[str, BucketResult]

    @field_validator("buckets")
    @classmethod
    def _lattice_only(cls, buckets: dict[str, BucketResult]) -> dict[str, BucketResult]:
        if not set(buckets) <= set(LATTICE):
            raise ValueError("a benchmark document holds only the buckets of the fixed lattice")
        return {bucket: buckets[bucket] for bucket in LATTICE if bucket in buckets}

    def to_json(self) -> str:
        """Deterministic JSON: the same inputs (and ``computed_at``) give byte-identical output."""
        return self.model_dump_json()

    def bucket(self, bucket_id: str) -> BucketResult | None:
        return self.buckets.get(bucket_id)
