"""The usage of a date range, aggregated from monthly rollups and daily snapshots (``GET /enterprise/usage``).

A range is read as whole months (one rollup each) plus the days of the partial months at its edges, so a 12-month
range costs about 14 documents. Everything shown is derived again from the summed provider parts
(``shared.domain.snapshot.view_fields``): rates are summed costs over summed tokens and the discount is
``1 - billed/list`` over the summed comparable amounts, never an average of monthly or daily figures.

The index level of the range is the mean of its daily STCI-FRONTIER levels; a month contributes its own mean weighted
by its snapshot days (a rollup does not keep how many of its days had a published level).

Cost sources: a provider whose bill cannot be read (Google without a billing export) counts its usage at list price;
``totals.estimated_cost_usd`` is how much of ``totals.total_cost_usd`` is such an estimate, each provider says its
``cost_source`` (``billed``, ``estimated``, ``mixed``), and ``notes`` says so in words. Effective rates and the
discount are computed from billed money only.

Filters: ``provider`` keeps that provider's parts. ``model`` keeps each part's per-model tally only: snapshots do not
split a model's billed cost into input and output sides nor keep a per-model reconciliation, so effective rates and
the discount are ``None`` under a model filter, and projects are not broken down by model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.snapshot import (
    INDEX_NAME,
    BreakdownEntry,
    IndexLevel,
    ReconciliationView,
    Totals,
    UsageSnapshot,
    UsageView,
    add_months,
    view_fields,
)
from shared.domain.snapshot_parts import ProviderPart
from shared.domain.usage import CostSource
from shared.domain.usage_month import DayFigures, UsageMonth, month_bounds, month_key
from shared.domain.usage_tally import DERIVED_PLACES, Money, RateBasis, Rates, Ratio, Tally, total
from shared.errors import InvalidInput

MAX_RANGE_MONTHS = 24

_VIEW = ConfigDict(frozen=True)


def check_range(start: date, end: date) -> None:
    """Refuse an inverted range or one longer than ``MAX_RANGE_MONTHS`` (both ends inclusive)."""
    if start > end:
        raise InvalidInput("start must not be after end", code="invalid_date_range")
    if end >= add_months(start, MAX_RANGE_MONTHS):
        raise InvalidInput(f"a range covers at most {MAX_RANGE_MONTHS} months", code="date_range_too_long")


def split_range(start: date, end: date) -> tuple[list[str], list[str]]:
    """``(whole, partial)``: ``YYYY-MM`` months entirely inside ``[start, end]``, and the edge months that are not."""
    whole: list[str] = []
    partial: list[str] = []
    cursor = date(start.year, start.month, 1)
    while cursor <= end:
        key = month_key(cursor)
        first, last = month_bounds(key)
        (whole if start <= first and last <= end else partial).append(key)
        cursor = last + timedelta(days=1)
    return whole, partial


class Period(BaseModel):
    model_config = _VIEW

    start: date
    end: date


class EffectiveRates(BaseModel):
    """USD per 1M tokens: input-side and output-side billed cost over tokens, blended 3:1."""

    model_config = _VIEW

    input: Ratio | None
    output: Ratio | None
    blended: Ratio | None

    @classmethod
    def of(cls, rates: Rates) -> EffectiveRates:
        return cls(
            input=rates.effective_input_rate,
            output=rates.effective_output_rate,
            blended=rates.effective_blended_rate,
        )


class BenchmarkView(BaseModel):
    model_config = _VIEW

    index: str = INDEX_NAME
    stci_frontier_blended: Money | None
    """Mean of the period's daily index levels (list prices, 3:1 blend); ``None`` when none was published."""
    index_version: str | None
    your_discount: Ratio | None
    """``1 - billed/list`` for the same usage (M1)."""


class ProviderFigures(BaseModel):
    model_config = _VIEW

    provider: str
    cost_source: CostSource
    """``billed``: the provider's bill; ``estimated``: usage at list prices (no bill readable); ``mixed``: both, on
    different days of the period."""
    totals: Totals
    effective_rates: EffectiveRates
    your_discount: Ratio | None


class DayEntry(DayFigures):
    date: date


class BreakdownRow(BreakdownEntry):
    key: str
    """The model, or ``{provider}:{project}``."""


class UsageReport(BaseModel):
    """The response of ``GET /api/v1/enterprise/usage``."""

    model_config = _VIEW

    period: Period
    totals: Totals
    effective_rates: EffectiveRates
    benchmark: BenchmarkView
    by_provider: list[ProviderFigures]
    by_day: list[DayEntry]
    by_model: list[BreakdownRow]
    by_project: list[BreakdownRow]
    reconciliation: dict[str, ReconciliationView]
    unpriced_models: list[str]
    price_data_version: str | None
    notes: list[str] = Field(default_factory=list)
    """Caveats a reader must see next to the figures, e.g. that a provider's cost is estimated at list prices."""


def filtered_parts(
    parts: Mapping[str, ProviderPart], *, provider: str | None = None, model: str | None = None
) -> dict[str, ProviderPart]:
    """The parts a filter keeps; under a model filter only the model's tally (see the module docstring)."""
    out: dict[str, ProviderPart] = {}
    for name, part in parts.items():
        if provider is not None and name != provider:
            continue
        if model is None:
            out[name] = part
        elif model in part.by_model:
            tally = part.by_model[model]
            out[name] = ProviderPart(
                cost_source=part.cost_source,
                tally=tally,
                by_model={model: tally},
                unpriced_models=[m for m in part.unpriced_models if m == model],
                models_used=[model],
                price_data_versions=part.price_data_versions,
            )
    return out


def usage_report(
    start: date,
    end: date,
    months: Iterable[UsageMonth],
    days: Iterable[UsageSnapshot],
    *,
    provider: str | None = None,
    model: str | None = None,
) -> UsageReport:
    """The report of ``[start, end]`` from the rollups of its whole months and its other days' snapshots.

    Days outside the range are ignored. A rollup's ``by_day`` covers every provider and model, so with a filter the
    caller passes daily snapshots only (``by_day`` of rollups is used as is).
    """
    in_range = sorted((d for d in days if start <= d.date <= end), key=lambda d: d.date)
    rollups = sorted(months, key=lambda m: m.month)
    summed: dict[str, ProviderPart] = {}
    for source in [*rollups, *in_range]:
        for name, part in filtered_parts(source.by_provider, provider=provider, model=model).items():
            summed[name] = summed[name].plus(part) if name in summed else part
    view = UsageView.model_validate(view_fields(summed, period_index(rollups, in_range)))
    by_day = [DayEntry(date=date.fromisoformat(k), **f.model_dump()) for m in rollups for k, f in m.by_day.items()]
    by_day += [_day_entry(d, provider=provider, model=model) for d in in_range]
    return UsageReport(
        period=Period(start=start, end=end),
        totals=view.totals,
        effective_rates=EffectiveRates.of(view.rates),
        benchmark=BenchmarkView(
            stci_frontier_blended=view.benchmark.stci_frontier_blended,
            index_version=view.index_version,
            your_discount=view.benchmark.discount_vs_list,
        ),
        by_provider=[_provider_figures(name, part) for name, part in sorted(summed.items())],
        by_day=sorted(by_day, key=lambda e: e.date),
        by_model=_rows(view.by_model),
        by_project=[] if model is not None else _rows(view.by_project),
        reconciliation={} if model is not None else view.reconciliation,
        unpriced_models=view.unpriced_models,
        price_data_version=view.price_data_version,
        notes=cost_notes(summed),
    )


def cost_notes(parts: Mapping[str, ProviderPart]) -> list[str]:
    """One sentence per provider whose cost is not (entirely) from its bill."""
    notes = []
    for name, part in sorted(parts.items()):
        if part.cost_source is CostSource.BILLED:
            continue
        amount = f"{part.tally.estimated_cost_usd.quantize(Decimal('0.01'))} USD"
        when = "on some days of the period" if part.cost_source is CostSource.MIXED else "over the period"
        notes.append(
            f"{name}: {amount} of the cost is estimated at public list prices {when}, because no bill could be read "
            "(connect the Cloud Billing export for billed costs); rates and discounts leave it out."
        )
    return notes


def period_index(months: Sequence[UsageMonth], days: Sequence[UsageSnapshot]) -> IndexLevel | None:
    """Mean of the daily index levels: a month's mean counts once per snapshot day, a day once."""
    weighted = [(m.benchmark.stci_frontier_blended, m.days) for m in months]
    weighted += [(d.benchmark.stci_frontier_blended, 1) for d in days]
    known = [(level, weight) for level, weight in weighted if level is not None and weight > 0]
    if not known:
        return None
    mean = sum((level * weight for level, weight in known), Decimal(0)) / sum(weight for _, weight in known)
    versions = {v for s in [*months, *days] if s.index_version for v in s.index_version.split(",")}
    return IndexLevel(blended=mean.quantize(DERIVED_PLACES), version=",".join(sorted(versions)))


def _provider_figures(name: str, part: ProviderPart) -> ProviderFigures:
    view = UsageView.model_validate(view_fields({name: part}, None))
    return ProviderFigures(
        provider=name,
        cost_source=part.cost_source,
        totals=view.totals,
        effective_rates=EffectiveRates.of(view.rates),
        your_discount=view.benchmark.discount_vs_list,
    )


def _day_entry(day: UsageSnapshot, *, provider: str | None, model: str | None) -> DayEntry:
    parts = filtered_parts(day.by_provider, provider=provider, model=model)
    tally = total((p.tally for p in parts.values()), Tally())
    rates = Rates.of(total((p.rate_basis for p in parts.values()), RateBasis()))
    failed = [p for p in day.failed_providers if provider is None or p == provider]
    return DayEntry(
        date=day.date,
        input_tokens=tally.input_tokens,
        output_tokens=tally.output_tokens,
        cached_tokens=tally.cached_tokens,
        total_cost_usd=tally.cost_usd,
        estimated_cost_usd=tally.estimated_cost_usd,
        list_cost_usd=tally.list_cost_usd,
        effective_blended_rate=rates.effective_blended_rate,
        failed_providers=sorted(failed),
    )


def _rows(entries: Mapping[str, BreakdownEntry]) -> list[BreakdownRow]:
    return [BreakdownRow(key=key, **entry.model_dump()) for key, entry in sorted(entries.items())]
