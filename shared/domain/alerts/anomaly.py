"""Spend spikes: a day whose spend stands far above every usual pattern it could belong to, measured robustly.

A day ``d`` is judged against three baselines drawn from the ``baseline_days`` days before it (28 by default):

* **recent**: every known day of the window (four of each weekday);
* **same weekday**: the window's days on ``d``'s weekday, so a job that runs every Monday is usual on Mondays;
* **used days**: the window's days with any spend, so a job that runs every few days whatever the weekday is usual
  on the days it runs, not measured against the idle days in between.

The recent baseline must hold ``min_baseline_days`` known days or nothing is judged; the two pattern baselines take
part when they hold ``min_pattern_days`` days. A day is a spike only when it stands out against **each** baseline
that takes part: a routine weekly or twice-weekly job always matches one of its patterns, a real spike matches none.

Against one baseline, with centre the **median** and spread the **median absolute deviation** (MAD) scaled by 1.4826
(a standard deviation for normal data), the day stands out when all of these hold:

* ``spend - median > threshold × spread`` (``threshold`` 5): far outside the usual spread. When the MAD is 0 (more
  than half the baseline is one value, e.g. the idle days of a weekly job), the **fallback spread** is the mean
  absolute deviation from the median scaled by 1.2533, which is 0 only for a truly flat baseline;
* ``spend - median ≥ relative_floor × median`` (``relative_floor`` 1: at least twice the usual): a flat baseline has
  no spread, and a busy day 30 % above it is not an incident;
* ``spend - median ≥ min_excess_usd``: the excess is worth a message; small accounts never alert.

Median and MAD do not move when the baseline itself holds a spike or an idle day, so one incident does not hide the
next nor mask itself. Days absent from the series are unknown (not synced) and left out of every baseline. Only
increases are spikes. The caller decides which days are settled enough to judge (``shared.domain.alerts.rules``).
The rule and its false-positive rate on the simulator's demo data are in ADR 0018.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shared.domain.usage.tally import Money

MAD_TO_SIGMA = Decimal("1.4826")
MEAN_AD_TO_SIGMA = Decimal("1.2533")
"""sqrt(pi/2): the mean absolute deviation of normal data times this estimates its standard deviation."""
_ZERO = Decimal(0)


@dataclass(frozen=True)
class SpikeRule:
    baseline_days: int = 28
    min_baseline_days: int = 14
    threshold: Decimal = Decimal(5)
    """How many spreads above the median a spike stands."""
    min_excess_usd: Decimal = Decimal(50)
    relative_floor: Decimal = Decimal(1)
    """A spike exceeds the baseline median by at least this multiple of it."""
    min_pattern_days: int = 3
    """Days a same-weekday or used-days baseline needs to take part."""


class Spike(BaseModel):
    """A day that stands out, and the baseline with the highest median it stood out against (the usual level the
    message quotes: a weekly job's runs, not its idle days)."""

    model_config = ConfigDict(frozen=True)

    day: date
    spend_usd: Money
    baseline_median_usd: Money
    baseline_mad_usd: Money
    baseline_days: int
    """Known days in the baseline."""
    excess_usd: Money
    """``spend - median``."""


def median(values: Sequence[Decimal]) -> Decimal:
    """The median of a non-empty sequence (the mean of the two middle values for an even count)."""
    if not values:
        raise ValueError("the median of nothing")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def median_absolute_deviation(values: Sequence[Decimal], centre: Decimal) -> Decimal:
    return median([abs(v - centre) for v in values])


def spread(values: Sequence[Decimal], centre: Decimal) -> Decimal:
    """The scaled MAD, or when it is 0, the scaled mean absolute deviation (the fallback spread)."""
    mad = median_absolute_deviation(values, centre)
    if mad > 0:
        return MAD_TO_SIGMA * mad
    return MEAN_AD_TO_SIGMA * sum((abs(v - centre) for v in values), _ZERO) / len(values)


def baselines(series: Mapping[date, Decimal], day: date, rule: SpikeRule) -> list[list[Decimal]]:
    """The baselines ``day`` is judged against (recent first); empty when the recent one is too short."""
    window = [d for d in (day - timedelta(days=n) for n in range(1, rule.baseline_days + 1)) if d in series]
    if len(window) < rule.min_baseline_days:
        return []
    recent = [series[d] for d in window]
    weekday = [series[d] for d in window if d.weekday() == day.weekday()]
    used = [v for v in recent if v > 0]
    return [recent, *(b for b in (weekday, used) if len(b) >= rule.min_pattern_days)]


def detect_spike(series: Mapping[date, Decimal], day: date, rule: SpikeRule) -> Spike | None:
    """The spike on ``day``, or ``None`` (no figure that day, too little baseline, or usual for some pattern)."""
    spend = series.get(day)
    if spend is None:
        return None
    judged = baselines(series, day, rule)
    if not judged or not all(_stands_out(spend, b, rule) for b in judged):
        return None
    lenient = max(judged, key=median)
    centre = median(lenient)
    return Spike(
        day=day,
        spend_usd=spend,
        baseline_median_usd=centre,
        baseline_mad_usd=median_absolute_deviation(lenient, centre),
        baseline_days=len(lenient),
        excess_usd=spend - centre,
    )


def _stands_out(spend: Decimal, baseline: Sequence[Decimal], rule: SpikeRule) -> bool:
    centre = median(baseline)
    excess = spend - centre
    return (
        excess > rule.threshold * spread(baseline, centre)
        and excess >= rule.relative_floor * centre
        and excess >= rule.min_excess_usd
    )
