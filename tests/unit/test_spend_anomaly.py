"""Spend spikes (``shared.domain.alerts.anomaly``): robust to the baseline's own outliers, silent for small amounts."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.domain.alerts.anomaly import SpikeRule, detect_spike, median, median_absolute_deviation
from tests.support.spend_world import weekly_series

DAY = date(2026, 11, 16)
RULE = SpikeRule()


def baseline(**kwargs: str) -> dict[date, Decimal]:
    return weekly_series(DAY - timedelta(days=28), DAY - timedelta(days=1), weekday="150", weekend="60", **kwargs)


def test_median_and_mad() -> None:
    values = [Decimal(v) for v in ("1", "2", "3", "4", "100")]
    assert median(values) == 3
    assert median_absolute_deviation(values, Decimal(3)) == 1
    assert median([Decimal(1), Decimal(2)]) == Decimal("1.5")


def test_a_day_far_above_its_baseline_is_a_spike_and_an_ordinary_busy_day_is_not() -> None:
    series = baseline()
    spike = detect_spike({**series, DAY: Decimal("600")}, DAY, RULE)
    assert spike is not None
    assert spike.baseline_days == 4  # quoted against the four previous Mondays, its highest usual level
    assert spike.spend_usd == Decimal("600")
    assert spike.excess_usd == Decimal("600") - spike.baseline_median_usd
    assert detect_spike({**series, DAY: max(series.values())}, DAY, RULE) is None


def test_an_earlier_incident_in_the_baseline_neither_hides_the_next_nor_raises_the_bar() -> None:
    series = baseline()
    series[DAY - timedelta(days=5)] = Decimal("5000")
    series[DAY - timedelta(days=6)] = Decimal("0")  # an idle day
    assert detect_spike({**series, DAY: Decimal("600")}, DAY, RULE) is not None


def test_small_accounts_never_alert_however_large_the_ratio() -> None:
    tiny = weekly_series(DAY - timedelta(days=28), DAY - timedelta(days=1), weekday="1.50", weekend="0.60")
    assert detect_spike({**tiny, DAY: Decimal("40")}, DAY, RULE) is None, "26x the usual, but only $38 more"
    assert detect_spike({**tiny, DAY: Decimal("60")}, DAY, RULE) is not None


def test_a_flat_baseline_alerts_only_at_twice_its_level() -> None:
    # No spread at all: the relative floor (excess ≥ 1 × the median) and the minimum excess decide.
    flat = {DAY - timedelta(days=n): Decimal("100") for n in range(1, 29)}
    assert detect_spike({**flat, DAY: Decimal("199.99")}, DAY, RULE) is None
    assert detect_spike({**flat, DAY: Decimal("200")}, DAY, RULE) is not None


def job_series(start: date, end: date, weekdays: set[int], usd: str, seed: int = 3) -> dict[date, Decimal]:
    """A job that runs on ``weekdays`` for ``usd`` (±20 %) and costs nothing on the other days."""
    rng = random.Random(seed)
    series, day = {}, start
    while day <= end:
        factor = Decimal(str(round(rng.uniform(0.8, 1.2), 4)))
        series[day] = (Decimal(usd) * factor).quantize(Decimal("0.01")) if day.weekday() in weekdays else Decimal(0)
        day += timedelta(days=1)
    return series


@pytest.mark.parametrize("weekdays", [{0}, {1, 4}], ids=["weekly", "twice-weekly"])
def test_a_routine_weekly_or_twice_weekly_job_never_alerts_over_90_days(weekdays: set[int]) -> None:
    """Issue 17: with a baseline whose median and MAD are 0 every routine run alerted."""
    series = job_series(DAY - timedelta(days=119), DAY, weekdays, "400")
    judged = [DAY - timedelta(days=n) for n in range(90)]
    assert [d for d in judged if detect_spike(series, d, RULE)] == []


@pytest.mark.parametrize("weekdays", [{0}, {1, 4}], ids=["weekly", "twice-weekly"])
def test_a_five_fold_run_of_a_routine_job_alerts(weekdays: set[int]) -> None:
    series = job_series(DAY - timedelta(days=119), DAY, weekdays, "400")
    run_day = max(d for d, v in series.items() if v > 0)
    spiked = {**series, run_day: Decimal(2000)}
    spike = detect_spike(spiked, run_day, RULE)
    assert spike is not None
    assert Decimal(320) <= spike.baseline_median_usd <= Decimal(480)  # judged against the job's runs, not idle days


def test_a_routine_job_that_moves_to_another_weekday_does_not_alert() -> None:
    series = job_series(DAY - timedelta(days=60), DAY - timedelta(days=1), {0}, "400")
    moved = DAY + timedelta(days=(3 - DAY.weekday()) % 7)  # a Thursday: the job never ran on Thursdays
    series = {d: v for d, v in series.items() if d < moved}
    assert detect_spike({**series, moved: Decimal(420)}, moved, RULE) is None
    assert detect_spike({**series, moved: Decimal(2000)}, moved, RULE) is not None


def test_a_five_fold_day_of_steady_spend_alerts() -> None:
    series = baseline()
    assert detect_spike({**series, DAY: Decimal(750)}, DAY, RULE) is not None


def test_too_short_a_baseline_or_no_figure_finds_nothing() -> None:
    short = {DAY - timedelta(days=n): Decimal("100") for n in range(1, 14)}
    assert detect_spike({**short, DAY: Decimal("5000")}, DAY, RULE) is None
    assert detect_spike(baseline(), DAY, RULE) is None


def test_drops_are_not_spikes() -> None:
    assert detect_spike({**baseline(), DAY: Decimal("0")}, DAY, RULE) is None
