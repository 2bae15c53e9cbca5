"""The month-end forecast (``shared.domain.usage.forecast``) on simulated daily spend with a working-week pattern."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.domain.usage.forecast import forecast_month_end
from tests.support.spend_world import days, weekly_series

NOVEMBER = days(date(2026, 11, 1), date(2026, 11, 30))


def test_a_steady_working_week_is_forecast_exactly_where_a_straight_line_is_not() -> None:
    series = weekly_series(date(2026, 9, 1), date(2026, 11, 30), weekday="100", weekend="40", jitter=0)
    truth = sum((series[d] for d in NOVEMBER), Decimal(0))
    as_of = date(2026, 11, 13)  # a Friday: ten of the first thirteen days were weekdays
    known = {d: v for d, v in series.items() if d <= as_of}

    forecast = forecast_month_end(known, as_of=as_of)

    assert forecast.method == "weekday_run_rate"
    assert forecast.forecast_usd == truth
    assert forecast.weekday_rates_usd == {
        "mon": Decimal("100.0000"),
        "tue": Decimal("100.0000"),
        "wed": Decimal("100.0000"),
        "thu": Decimal("100.0000"),
        "fri": Decimal("100.0000"),
        "sat": Decimal("40.0000"),
        "sun": Decimal("40.0000"),
    }
    straight_line = forecast.month_to_date_usd / 13 * 30
    assert abs(straight_line - truth) > Decimal(50), "the straight line misses the weekends to come"
    assert (forecast.history_start, forecast.history_end, forecast.history_days_with_data) == (
        as_of - timedelta(days=27),
        as_of,
        28,
    )
    assert (forecast.days_in_month, forecast.days_remaining) == (30, 17)


def test_over_a_noisy_month_it_beats_the_straight_line_on_average() -> None:
    series = weekly_series(date(2026, 9, 1), date(2026, 11, 30), weekday="100", weekend="40", jitter=0.1, seed=1)
    truth = sum((series[d] for d in NOVEMBER), Decimal(0))
    ours: list[Decimal] = []
    line: list[Decimal] = []
    for as_of in NOVEMBER[2:-1]:
        known = {d: v for d, v in series.items() if d <= as_of}
        forecast = forecast_month_end(known, as_of=as_of)
        ours.append(abs(forecast.forecast_usd - truth))
        line.append(abs(forecast.month_to_date_usd / as_of.day * 30 - truth))
    assert sum(ours) < sum(line) / 2
    assert max(ours) < max(line) / 2


def test_without_a_week_of_history_it_falls_back_to_the_daily_run_rate_and_without_any_to_the_month_to_date() -> None:
    short = {date(2026, 11, 1): Decimal("10"), date(2026, 11, 2): Decimal("30")}
    forecast = forecast_month_end(short, as_of=date(2026, 11, 2))
    assert forecast.method == "daily_run_rate"
    assert forecast.forecast_usd == Decimal("40") + 28 * Decimal("20")

    empty = forecast_month_end({}, as_of=date(2026, 11, 2))
    assert (empty.method, empty.forecast_usd, empty.weekday_rates_usd) == ("no_history", Decimal("0.00"), {})


def test_a_partial_figure_after_as_of_counts_at_least_at_its_weekday_rate() -> None:
    series = weekly_series(date(2026, 10, 1), date(2026, 11, 29), weekday="100", weekend="100", jitter=0)
    today = date(2026, 11, 30)
    low = forecast_month_end({**series, today: Decimal("30")}, as_of=today - timedelta(days=1))
    high = forecast_month_end({**series, today: Decimal("250")}, as_of=today - timedelta(days=1))
    assert low.forecast_usd == Decimal("3000.00"), "a partial day below its rate counts at the rate"
    assert high.forecast_usd == Decimal("3150.00"), "a day already above its rate counts as recorded"
    assert low.month_to_date_usd == Decimal("2930"), "the month to date is what was recorded"


def test_on_the_first_of_the_month_the_whole_month_is_forecast_from_the_previous_weeks() -> None:
    series = weekly_series(date(2026, 10, 1), date(2026, 11, 30), weekday="100", weekend="40", jitter=0)
    known = {d: v for d, v in series.items() if d < date(2026, 11, 1)}
    forecast = forecast_month_end(known, as_of=date(2026, 10, 31), month="2026-11")
    assert forecast.month_to_date_usd == 0
    assert forecast.forecast_usd == sum((series[d] for d in NOVEMBER), Decimal(0))
    assert forecast.days_remaining == 30


def test_a_day_not_synced_yet_is_forecast_at_its_weekday_rate_not_counted_as_nothing() -> None:
    series = weekly_series(date(2026, 9, 1), date(2026, 11, 30), weekday="100", weekend="40", jitter=0)
    as_of = date(2026, 11, 13)
    missing = {date(2026, 11, 4), date(2026, 11, 13)}  # a failed Wednesday, and yesterday not synced yet
    known = {d: v for d, v in series.items() if d <= as_of and d not in missing}

    forecast = forecast_month_end(known, as_of=as_of)

    assert forecast.forecast_usd == sum((series[d] for d in NOVEMBER), Decimal(0))
    assert forecast.days_unknown == 2
    assert forecast.month_to_date_usd == sum((known[d] for d in NOVEMBER if d in known), Decimal(0))


@pytest.mark.parametrize(("history_days", "month"), [(6, None), (57, None), (28, "2026-10")])
def test_impossible_requests_are_refused(history_days: int, month: str | None) -> None:
    with pytest.raises(ValueError):
        forecast_month_end({}, as_of=date(2026, 11, 5), month=month, history_days=history_days)


def test_days_whose_cost_has_not_arrived_count_at_least_at_their_weekday_rate_and_teach_it_nothing() -> None:
    # A flat working-week series; the last two days before as_of hold usage whose cost is not billed yet: a few
    # dollars of partial cost lines, or nothing (cost lags usage by up to 48 h, cost-accuracy-and-focus.md §3.7).
    series = weekly_series(date(2026, 9, 1), date(2026, 11, 30), weekday="100", weekend="40", jitter=0)
    as_of = date(2026, 11, 13)
    unsettled = {date(2026, 11, 12), date(2026, 11, 13)}
    known = {d: (Decimal("3") if d in unsettled else v) for d, v in series.items() if d <= as_of}

    naive = forecast_month_end(known, as_of=as_of)
    forecast = forecast_month_end(known, as_of=as_of, unsettled=unsettled)

    assert naive.forecast_usd < sum((series[d] for d in NOVEMBER), Decimal(0))  # what the issue found: low
    assert forecast.forecast_usd == sum((series[d] for d in NOVEMBER), Decimal(0))
    assert forecast.days_unsettled == 2
    assert forecast.weekday_rates_usd["thu"] == Decimal("100.0000")  # the unsettled Thursday taught it nothing
