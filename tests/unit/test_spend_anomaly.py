"""Spend spikes (``shared.domain.anomaly``): robust to the baseline's own outliers, silent for small amounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from shared.domain.anomaly import SpikeRule, detect_spike, median, median_absolute_deviation
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
    assert spike.baseline_days == 28
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


def test_a_flat_baseline_alerts_on_the_minimum_excess_only() -> None:
    flat = {DAY - timedelta(days=n): Decimal("100") for n in range(1, 29)}
    assert detect_spike({**flat, DAY: Decimal("149.99")}, DAY, RULE) is None
    assert detect_spike({**flat, DAY: Decimal("150")}, DAY, RULE) is not None


def test_too_short_a_baseline_or_no_figure_finds_nothing() -> None:
    short = {DAY - timedelta(days=n): Decimal("100") for n in range(1, 14)}
    assert detect_spike({**short, DAY: Decimal("5000")}, DAY, RULE) is None
    assert detect_spike(baseline(), DAY, RULE) is None


def test_drops_are_not_spikes() -> None:
    assert detect_spike({**baseline(), DAY: Decimal("0")}, DAY, RULE) is None
