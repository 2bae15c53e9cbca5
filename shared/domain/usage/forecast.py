"""Month-end spend forecast from daily spend: a day-of-week weighted run-rate.

LLM spend follows the working week: weekend traffic is often less than half a weekday's. A straight line through
month-to-date spend therefore overshoots after a run of weekdays and undershoots after a weekend, and the error
depends on which weekday the month started. The forecast gives every weekday its own rate instead:

* **Method ``weekday_run_rate``** (at least ``MIN_WEEKDAY_HISTORY`` days of history): for each weekday, the mean
  daily spend of that weekday over the trailing history window (``history_days``, 28 by default: four of each
  weekday; 7 to 56 allowed), which ends on ``as_of``. Each day of the month after ``as_of`` is forecast at its
  weekday's mean (a weekday without an observation in the window takes the window's overall mean).
* **Method ``daily_run_rate``** (1 to 6 days of history): every remaining day at the window's mean daily spend.
* **Method ``no_history``**: nothing known in the window; the forecast is the month to date.

``forecast = recorded spend of the days up to as_of + Σ remaining days``, where a remaining day that already has
recorded spend (today's partial figure, from an hourly sync) counts at the larger of its recorded and forecast
amounts. Days absent from the series are *unknown* (not synced yet, or their sync failed), never zero: a synced day
without usage is present with 0, and a day of the month up to ``as_of`` that is unknown is forecast at its weekday's
rate like a remaining day (``days_unknown`` says how many).

Days whose figures are not final (``unsettled``: a provider's usage is in but its bill is not yet, ADR 0016) are
left out of the rate history, and a month's unsettled day up to ``as_of`` counts at the larger of its recorded and
forecast amounts, like today's partial figure: its recorded spend is a lower bound (``days_unsettled``).

``forecast_month_end`` is pure: the usage API and the alerts call it with a series read from snapshots, and the
monthly report can call it with whatever daily series it holds.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.usage.tally import Money

DEFAULT_HISTORY_DAYS = 28
MIN_HISTORY_DAYS = 7
MAX_HISTORY_DAYS = 56
MIN_WEEKDAY_HISTORY = 7
"""Days with data in the window below which weekday rates are not trusted (a weekday would have no sample)."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
_ZERO = Decimal(0)

ForecastMethod = Literal["weekday_run_rate", "daily_run_rate", "no_history"]


class MonthForecast(BaseModel):
    """The forecast of one calendar month's spend, with the method and the inputs it used."""

    model_config = ConfigDict(frozen=True)

    month: str
    """``YYYY-MM``."""
    as_of: date
    """The last complete day the forecast trusts; later days of the month are forecast."""
    method: ForecastMethod
    month_to_date_usd: Money
    """Spend recorded so far in the month (partial days included)."""
    forecast_usd: Money
    """Forecast spend of the whole month, to the cent."""
    days_in_month: int
    days_remaining: int
    """Days of the month after ``as_of``."""
    days_unknown: int = 0
    """Days of the month up to ``as_of`` without data (not synced yet, or their sync failed): forecast like the
    remaining days, never counted as 0."""
    days_unsettled: int = 0
    """Days of the month up to ``as_of`` whose cost is not final yet (a provider has not billed them): counted at
    the larger of recorded and forecast, and left out of the rate history."""
    history_start: date
    history_end: date
    """The trailing window the rates come from (both inclusive; ``history_end`` is ``as_of``)."""
    history_days_with_data: int
    weekday_rates_usd: dict[str, Money]
    """Mean daily spend per weekday (``mon`` … ``sun``) used for the remaining days; empty under ``no_history``."""


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, _ZERO) / len(values)


def forecast_month_end(
    daily_spend: Mapping[date, Decimal],
    *,
    as_of: date,
    month: str | None = None,
    history_days: int = DEFAULT_HISTORY_DAYS,
    unsettled: Collection[date] = (),
) -> MonthForecast:
    """Forecast the total spend of ``month`` (default: ``as_of``'s month) from a daily spend series.

    Args:
        daily_spend: USD spent per UTC day; days absent are unknown. Days after ``as_of`` may hold partial figures.
        as_of: The last complete day (usually yesterday). It may precede ``month`` (forecast on its first day).
        month: ``YYYY-MM``; it must not end before ``as_of``.
        history_days: Length of the trailing window ending on ``as_of`` (7 to 56).
        unsettled: Days whose recorded spend is not final (cost still to come): a lower bound, not a rate sample.

    Raises:
        ValueError: ``history_days`` out of range, or ``month`` ends before ``as_of``.
    """
    if not MIN_HISTORY_DAYS <= history_days <= MAX_HISTORY_DAYS:
        raise ValueError(f"history_days must be between {MIN_HISTORY_DAYS} and {MAX_HISTORY_DAYS}")
    year, number = (int(p) for p in (month or f"{as_of:%Y-%m}").split("-"))
    first = date(year, number, 1)
    length = calendar.monthrange(year, number)[1]
    last = date(year, number, length)
    if last < as_of:
        raise ValueError("the month to forecast ends before as_of")
    history_start = as_of - timedelta(days=history_days - 1)
    open_days = set(unsettled)
    history = {d: v for d, v in daily_spend.items() if history_start <= d <= as_of and d not in open_days}
    method, rates = _rates(history)
    recorded = {d: v for d, v in daily_spend.items() if first <= d <= last}
    month_to_date = sum(recorded.values(), _ZERO)
    forecast = sum((v for d, v in recorded.items() if d <= as_of and d not in open_days), _ZERO)
    days = [first + timedelta(days=i) for i in range(length)]
    unknown = [d for d in days if d <= as_of and d not in recorded]
    pending = [d for d in days if d <= as_of and d in recorded and d in open_days]
    remaining = [d for d in days if d > as_of]
    for day in unknown + pending + remaining:
        expected = rates[WEEKDAYS[day.weekday()]] if rates else _ZERO
        forecast += max(recorded.get(day, _ZERO), expected)
    return MonthForecast(
        month=f"{year:04d}-{number:02d}",
        as_of=as_of,
        method=method,
        month_to_date_usd=month_to_date,
        forecast_usd=forecast.quantize(CENT, rounding=ROUND_HALF_EVEN),
        days_in_month=length,
        days_remaining=len(remaining),
        days_unknown=len(unknown),
        days_unsettled=len(pending),
        history_start=history_start,
        history_end=as_of,
        history_days_with_data=len(history),
        weekday_rates_usd={name: rate.quantize(RATE_PLACES) for name, rate in rates.items()},
    )


def _rates(history: Mapping[date, Decimal]) -> tuple[ForecastMethod, dict[str, Decimal]]:
    if not history:
        return "no_history", {}
    overall = _mean(list(history.values()))
    if len(history) < MIN_WEEKDAY_HISTORY:
        return "daily_run_rate", dict.fromkeys(WEEKDAYS, overall)
    by_weekday: dict[int, list[Decimal]] = {}
    for day, value in history.items():
        by_weekday.setdefault(day.weekday(), []).append(value)
    return "weekday_run_rate", {
        name: _mean(by_weekday[i]) if i in by_weekday else overall for i, name in enumerate(WEEKDAYS)
    }
