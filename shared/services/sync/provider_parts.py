"""A provider's pulled days as the parts its snapshots take: computed as soon as its pull ends, or while it waits for
its last responses on the days it built early (``shared.ports.EarlyDays``), so the store that follows has them ready.

The optimisation savings of a provider-day (``shared.domain.optimisation.opportunities``, scaled by that provider's
realised price ratio) are computed here, from pure domain functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.domain.optimisation.opportunities import savings_by_kind
from shared.domain.usage.records import DayStatus, ProviderDay, ProviderPull
from shared.domain.usage.snapshot_parts import ProviderPart, provider_part

SavingsLookup = Callable[[ProviderDay], Mapping[str, Decimal]]


def opportunity_savings(day: ProviderDay) -> dict[str, Decimal]:
    """The day's estimated savings by opportunity kind, in the money this provider actually bills."""
    recon = day.reconciliation
    if recon is None or not day.records:
        return {}
    return {kind.value: usd for kind, usd in savings_by_kind(day.records, recon.billed_usd, recon.list_usd).items()}


@dataclass(frozen=True)
class PreparedPull:
    """One provider's pulled days as the parts its snapshots take (and the days it failed), computed as soon as its
    pull ends: while the other providers still answer, not after the slowest one."""

    parts: dict[date, ProviderPart]
    failed: dict[date, str]


@dataclass(frozen=True)
class EarlyPrepared:
    """The parts of the days a pull built before its last responses (``shared.ports.EarlyDays``), computed while it
    waited for them; a day of the finished pull that is the very same object (and price data) takes them as they
    are."""

    days: Mapping[date, ProviderDay]
    price_data_version: str
    prepared: PreparedPull


def prepare_early(
    days: Mapping[date, ProviderDay],
    window: list[date],
    price_data_version: str,
    savings: SavingsLookup = opportunity_savings,
) -> EarlyPrepared:
    """The parts of ``days`` built early, for ``prepare_pull`` to take where the finished pull kept them."""
    return EarlyPrepared(days, price_data_version, _prepared(days, window, price_data_version, savings, None))


def prepare_pull(
    pull: ProviderPull,
    days: list[date],
    savings: SavingsLookup = opportunity_savings,
    early: EarlyPrepared | None = None,
) -> PreparedPull:
    """The window's ``days`` of ``pull``: each good day's provider part, each failed day's error code; the parts of
    ``early`` are taken for the days the pull kept as they were built early."""
    return _prepared(pull.days, days, pull.price_data_version, savings, early)


def _prepared(
    pulled: Mapping[date, ProviderDay],
    days: list[date],
    price_data_version: str,
    savings: SavingsLookup,
    early: EarlyPrepared | None,
) -> PreparedPull:
    parts: dict[date, ProviderPart] = {}
    failed: dict[date, str] = {}
    same_prices = early is not None and early.price_data_version == price_data_version
    for day in days:
        provider_day = pulled.get(day)
        if provider_day is None:
            continue
        if same_prices and early is not None and early.days.get(day) is provider_day:
            if day in early.prepared.parts:
                parts[day] = early.prepared.parts[day]
            else:
                failed[day] = early.prepared.failed[day]
        elif provider_day.status is DayStatus.OK:
            parts[day] = provider_part(provider_day, price_data_version, savings(provider_day))
        else:
            failed[day] = provider_day.error_code or "provider_day_failed"
    return PreparedPull(parts, failed)
