"""Spend spikes: a day whose spend stands far above its recent baseline, measured robustly.

The baseline of day ``d`` is the series' values on the ``baseline_days`` days before it (28 by default: four of each
weekday). Its centre is the **median** and its spread the **median absolute deviation** (MAD), scaled by 1.4826 so
it estimates a standard deviation for normal data. Unlike a mean and standard deviation, neither moves when the
baseline itself holds a spike or an idle day, so one incident does not hide the next nor mask itself.

Day ``d`` is a spike when both hold:

* ``spend - median > threshold × 1.4826 × MAD`` (``threshold`` 5 by default): far outside the usual spread;
* ``spend - median ≥ min_excess_usd``: the excess is worth a message. Small accounts, whose relative swings are large
  but cheap, never alert; neither does a flat series (MAD 0) that moves by cents.

Days absent from the series are unknown (not synced) and left out of the baseline; a baseline with fewer than
``min_baseline_days`` known days is not trusted and finds nothing. Only increases are spikes. The caller decides
which days are settled enough to judge (``shared.domain.alert_rules``): a day still being restated by the provider
must not be evaluated, or its growing partial figure would be compared with complete ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shared.domain.usage_tally import Money

MAD_TO_SIGMA = Decimal("1.4826")
_ZERO = Decimal(0)


@dataclass(frozen=True)
class SpikeRule:
    baseline_days: int = 28
    min_baseline_days: int = 14
    threshold: Decimal = Decimal(5)
    """How many scaled MADs above the median a spike stands."""
    min_excess_usd: Decimal = Decimal(50)


class Spike(BaseModel):
    """A day that stands out, and the baseline it was judged against."""

    model_config = ConfigDict(frozen=True)

    day: date
    spend_usd: Money
    baseline_median_usd: Money
    baseline_mad_usd: Money
    baseline_days: int
    """Known days in the baseline window."""
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


def detect_spike(series: Mapping[date, Decimal], day: date, rule: SpikeRule) -> Spike | None:
    """The spike on ``day``, or ``None`` (no figure that day, too little baseline, or nothing unusual)."""
    spend = series.get(day)
    if spend is None:
        return None
    baseline = [series[d] for d in (day - timedelta(days=n) for n in range(1, rule.baseline_days + 1)) if d in series]
    if len(baseline) < rule.min_baseline_days:
        return None
    centre = median(baseline)
    mad = median_absolute_deviation(baseline, centre)
    excess = spend - centre
    if excess < rule.min_excess_usd or excess <= rule.threshold * MAD_TO_SIGMA * mad:
        return None
    return Spike(
        day=day,
        spend_usd=spend,
        baseline_median_usd=centre,
        baseline_mad_usd=mad,
        baseline_days=len(baseline),
        excess_usd=excess,
    )
