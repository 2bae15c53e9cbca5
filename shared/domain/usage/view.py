"""The usage of a date range, aggregated from monthly rollups and daily snapshots (``GET /enterprise/usage``).

A range is read as one rollup per month it touches (ADR 0011), so any 12-month range costs at most 13 documents,
filters and partial edge months included: a whole month of an unfiltered view is its rollup's monthly sums, anything
else the days of the rollup's ``daily`` detail (each day's provider parts). Summing those days gives exactly what
summing the daily snapshots gives. Everything shown is derived again from the summed provider parts
(``shared.domain.usage.snapshot.view_fields``): rates are summed costs over summed tokens and the discount is
``1 - billed/list`` over the summed comparable amounts, never an average of monthly or daily figures.

The index level of the range is the mean of its daily STCI-FRONTIER levels (a rollup keeps their sum and count; one
older than those fields counts its mean once per snapshot day).

Cost sources: a provider whose bill cannot be read (Google without a billing export) counts its usage at list price;
``totals.estimated_cost_usd`` is how much of ``totals.total_cost_usd`` is such an estimate, each provider says its
``cost_source`` (``billed``, ``estimated``, ``mixed``), and ``notes`` says so in words. Effective rates and the
discount are computed from billed money only.

Pending cost (ADR 0016): a provider-day whose usage is in but whose bill is not yet adds its tokens and list cost
only; ``by_day[].pending_providers`` names it, ``totals.pending_cost_days`` counts it and ``notes`` says so. Credits
and adjustments are in ``totals.total_cost_usd`` and shown apart in ``totals.credits_usd``; rates and the discount
never include them.

Filters: ``provider`` keeps that provider's parts. ``model`` keeps each part's per-model tally only: snapshots do not
split a model's billed cost into input and output sides nor keep a per-model reconciliation, so effective rates and
the discount are ``None`` under a model filter, and projects are not broken down by model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.sync.coverage import RangeCoverage, coverage_notes
from shared.domain.usage.forecast import MonthForecast
from shared.domain.usage.month import DayFigures, UsageMonth, month_bounds, month_key
from shared.domain.usage.records import CostSource
from shared.domain.usage.rollup_days import DayHeadline, RolledDay, decode_day, decode_headline
from shared.domain.usage.snapshot import (
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
from shared.domain.usage.snapshot_parts import ProviderPart, model_only, sum_parts
from shared.domain.usage.tally import DERIVED_PLACES, Money, RateBasis, Rates, Ratio, Tally, total
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
    price_coverage: Ratio | None = None
    """Share of the billed token spend that ``your_discount`` speaks for (usage without an exact list price is left
    out of both sides); ``None`` when nothing was billed."""


class ProviderFigures(BaseModel):
    model_config = _VIEW

    provider: str
    cost_source: CostSource
    """``billed``: the provider's bill; ``estimated``: usage at list prices (no bill readable); ``mixed``: both, on
    different days of the period."""
    totals: Totals
    effective_rates: EffectiveRates
    your_discount: Ratio | None
    price_coverage: Ratio | None = None


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
    forecast: MonthForecast | None = None
    """When the range includes the current month (UTC): that month's spend forecast, for the same filter
    (``shared.domain.usage.forecast``: a day-of-week weighted run-rate over the trailing weeks)."""
    notes: list[str] = Field(default_factory=list)
    """Caveats a reader must see next to the figures, e.g. that a provider's cost is estimated at list prices."""
    coverage: list[RangeCoverage] = Field(default_factory=list)
    """Providers with days in the range that are missing (the sync could not pull them), pending (cost not billed
    yet) or never available (ADR 0016); empty when every day is settled."""


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
            out[name] = model_only(
                model,
                part.by_model[model],
                part.unpriced_models,
                part.price_data_versions,
                part.cost_source,
                part.pending_days,
            )
    return out


def months_of(start: date, end: date) -> list[str]:
    """Every ``YYYY-MM`` month ``[start, end]`` touches, in order."""
    whole, partial = split_range(start, end)
    return sorted(whole + partial)


def needs_snapshots(month: UsageMonth, start: date, end: date, *, filtered: bool) -> bool:
    """Whether the rollup alone cannot serve its part of ``[start, end]``.

    Only a rollup without (decodable) daily detail, for a partial month or a filtered view: its month must then be
    read from its daily snapshots.
    """
    return not month.has_daily and (filtered or not _whole(month.month, start, end))


@dataclass(frozen=True)
class _Slice:
    """A month or a day of the range: its (filtered) parts, its index levels, its ``by_day`` entries."""

    first: date
    parts: Mapping[str, ProviderPart]
    index_sum: Decimal
    index_days: int
    index_versions: tuple[str, ...]
    entries: tuple[DayEntry, ...]


def usage_report(
    start: date,
    end: date,
    months: Iterable[UsageMonth],
    days: Iterable[UsageSnapshot],
    *,
    provider: str | None = None,
    model: str | None = None,
) -> UsageReport:
    """The report of ``[start, end]`` from monthly rollups and daily snapshots; days outside the range are ignored.

    Each month comes either from its rollup or from its snapshots, never both. A rollup serves a whole month with
    its monthly sums (one provider's under a provider filter, whose ``by_day`` is then decoded from the days' headline
    figures), a partial month or a model filter with the days of its ``daily`` detail. A rollup without that detail
    where it is needed (``needs_snapshots``) raises ``ValueError``: pass the month's snapshots instead.
    """
    slices: list[_Slice] = []
    for month in months:
        if needs_snapshots(month, start, end, filtered=provider is not None or model is not None):
            raise ValueError(f"the rollup of {month.month} keeps no daily detail: pass its snapshots instead")
        if model is None and _whole(month.month, start, end):
            slices.append(_month_slice(month, provider))
        else:
            days_in = rolled_days(month, start, end, provider=provider, model=model)
            # Decoded for the filter already: their parts are not filtered a second time.
            slices += [_day_slice(d, d.by_provider, provider) for d in days_in]
    for snapshot in days:
        if start <= snapshot.date <= end:
            kept = filtered_parts(snapshot.by_provider, provider=provider, model=model)
            slices.append(_day_slice(RolledDay.of(snapshot), kept, provider))
    slices.sort(key=lambda s: s.first)
    pieces: dict[str, list[ProviderPart]] = {}
    for piece in slices:
        for name, part in piece.parts.items():
            pieces.setdefault(name, []).append(part)
    summed = {name: sum_parts(parts) for name, parts in pieces.items()}
    view = UsageView.model_validate(view_fields(summed, period_index(slices)))
    return UsageReport(
        period=Period(start=start, end=end),
        totals=view.totals,
        effective_rates=EffectiveRates.of(view.rates),
        benchmark=BenchmarkView(
            stci_frontier_blended=view.benchmark.stci_frontier_blended,
            index_version=view.index_version,
            your_discount=view.benchmark.discount_vs_list,
            price_coverage=view.benchmark.price_coverage,
        ),
        by_provider=[_provider_figures(name, part) for name, part in sorted(summed.items())],
        by_day=[entry for piece in slices for entry in piece.entries],
        by_model=_rows(view.by_model),
        by_project=[] if model is not None else _rows(view.by_project),
        reconciliation={} if model is not None else view.reconciliation,
        unpriced_models=view.unpriced_models,
        price_data_version=view.price_data_version,
        notes=cost_notes(summed),
    )


def rolled_days(
    month: UsageMonth,
    start: date,
    end: date,
    *,
    provider: str | None = None,
    model: str | None = None,
    breakdowns: bool = True,
) -> list[RolledDay]:
    """The days of the rollup's ``daily`` detail inside ``[start, end]``, in order, decoded for a view filtered by
    ``provider`` and ``model`` (``shared.domain.usage.rollup_days.decode_day``)."""
    found = []
    for key, text in sorted((month.daily or {}).items()):
        day = date.fromisoformat(key)
        if start <= day <= end:
            found.append(decode_day(day, text, provider=provider, model=model, breakdowns=breakdowns))
    return found


def cost_notes(parts: Mapping[str, ProviderPart]) -> list[str]:
    """One sentence per provider whose cost is not (entirely) from its bill, or not final yet."""
    notes = []
    for name, part in sorted(parts.items()):
        if part.pending_days:
            notes.append(pending_note(name, part.pending_days))
        if part.cost_source is CostSource.BILLED:
            continue
        amount = f"{part.tally.estimated_cost_usd.quantize(Decimal('0.01'))} USD"
        when = "on some days of the period" if part.cost_source is CostSource.MIXED else "over the period"
        remedy = _BILL_REMEDY.get(name, "connect the provider's bill for billed costs")
        notes.append(
            f"{name}: {amount} of the cost is estimated at public list prices {when}, because no bill could be read "
            f"({remedy}); rates and discounts leave it out."
        )
    return notes


_BILL_REMEDY = {
    "google": "connect the Cloud Billing export for billed costs",
    "bedrock": "connect with Cost Explorer for billed costs",
    "azure": "connect with Cost Management for billed costs",
}


def pending_note(provider: str, days: int) -> str:
    return (
        f"{provider}: {days} day(s) have usage the provider has not billed yet (cost data lags usage by up to 48 "
        "hours); their cost is not in the totals until it arrives, and rates, the discount and benchmarks leave those "
        "days out (by_day[].pending_providers)."
    )


def sync_notes(report: UsageReport) -> list[str]:
    """The report's sentences about figures that are not final: pending cost, days the sync could not pull."""
    pending = [
        pending_note(p.provider, p.totals.pending_cost_days) for p in report.by_provider if p.totals.pending_cost_days
    ]
    return [*pending, *coverage_notes(report.coverage)]


def period_index(slices: Sequence[_Slice]) -> IndexLevel | None:
    """Mean of the range's daily index levels (summed levels over the number of days that have one)."""
    days = sum(s.index_days for s in slices)
    if days == 0:
        return None
    mean = sum((s.index_sum for s in slices), Decimal(0)) / days
    versions = {v for s in slices for version in s.index_versions for v in version.split(",") if v}
    return IndexLevel(blended=mean.quantize(DERIVED_PLACES), version=",".join(sorted(versions)))


def _whole(month: str, start: date, end: date) -> bool:
    first, last = month_bounds(month)
    return start <= first and last <= end


def _month_slice(month: UsageMonth, provider: str | None) -> _Slice:
    first = month_bounds(month.month)[0]
    if provider is None:
        entries = tuple(DayEntry(date=date.fromisoformat(k), **f.model_dump()) for k, f in sorted(month.by_day.items()))
    else:
        daily = sorted((month.daily or {}).items())
        entries = tuple(_headline_entry(decode_headline(date.fromisoformat(k), data, provider)) for k, data in daily)
    level = month.benchmark.stci_frontier_blended
    if month.index_level_sum is not None and month.index_level_days is not None:
        index_sum, index_days = month.index_level_sum, month.index_level_days
    elif level is not None:
        # A rollup older than the summed levels: its mean counts once per snapshot day.
        index_sum, index_days = level * month.days, month.days
    else:
        index_sum, index_days = Decimal(0), 0
    return _Slice(
        first=first,
        parts=filtered_parts(month.by_provider, provider=provider),
        index_sum=index_sum,
        index_days=index_days,
        index_versions=(month.index_version,) if month.index_version else (),
        entries=entries,
    )


def _day_slice(day: RolledDay, parts: Mapping[str, ProviderPart], provider: str | None) -> _Slice:
    """The day's slice of the view, ``parts`` being its parts as the view's filter keeps them."""
    index = day.index
    return _Slice(
        first=day.date,
        parts=parts,
        index_sum=index.blended if index else Decimal(0),
        index_days=1 if index else 0,
        index_versions=(index.version,) if index and index.version else (),
        entries=(_day_entry(day, parts, provider),),
    )


def _provider_figures(name: str, part: ProviderPart) -> ProviderFigures:
    view = UsageView.model_validate(view_fields({name: part}, None))
    return ProviderFigures(
        provider=name,
        cost_source=part.cost_source,
        totals=view.totals,
        effective_rates=EffectiveRates.of(view.rates),
        your_discount=view.benchmark.discount_vs_list,
        price_coverage=view.benchmark.price_coverage,
    )


def _day_entry(day: RolledDay, parts: Mapping[str, ProviderPart], provider: str | None) -> DayEntry:
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
        credits_usd=sum((p.credits_usd for p in parts.values()), Decimal(0)),
        pending_providers=sorted(name for name, part in parts.items() if part.pending_days),
    )


def _headline_entry(day: DayHeadline) -> DayEntry:
    """``_day_entry`` of a provider-filtered day, from its headline figures."""
    tally = day.tally
    return DayEntry(
        date=day.date,
        input_tokens=tally.input_tokens,
        output_tokens=tally.output_tokens,
        cached_tokens=tally.cached_tokens,
        total_cost_usd=tally.cost_usd,
        estimated_cost_usd=tally.estimated_cost_usd,
        list_cost_usd=tally.list_cost_usd,
        effective_blended_rate=Rates.of(day.rate_basis).effective_blended_rate,
        failed_providers=[day.provider] if day.failed else [],
        credits_usd=day.credits_usd,
        pending_providers=[day.provider] if day.pending else [],
    )


def _rows(entries: Mapping[str, BreakdownEntry]) -> list[BreakdownRow]:
    return [BreakdownRow(key=key, **entry.model_dump()) for key, entry in sorted(entries.items())]
