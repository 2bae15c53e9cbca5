"""The local scheduler's cron matcher: field syntax, Vixie cron's day rule, and next run times across boundaries.

Expected values come from the calendar (weekdays asserted with ``date.isoweekday``) and from crontab(5), not from
running the matcher.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.cron import CronError, CronSchedule

MONDAY, WEDNESDAY, THURSDAY, SUNDAY = 1, 3, 4, 7  # ISO weekday numbers


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def weekday(day: date, iso: int) -> date:
    assert day.isoweekday() == iso, f"test premise: {day} is not ISO weekday {iso}"
    return day


# --- syntax ----------------------------------------------------------------------------------------------------


def test_a_star_selects_the_whole_range_of_each_field() -> None:
    schedule = CronSchedule.parse("* * * * *")
    assert schedule.minutes == frozenset(range(60))
    assert schedule.hours == frozenset(range(24))
    assert schedule.days_of_month == frozenset(range(1, 32))
    assert schedule.months == frozenset(range(1, 13))
    assert schedule.days_of_week == frozenset(range(7))


@pytest.mark.parametrize(
    ("minute_field", "expected"),
    [
        ("7", {7}),
        ("05", {5}),
        ("0,30", {0, 30}),
        ("10-13", {10, 11, 12, 13}),
        ("*/15", {0, 15, 30, 45}),
        ("*/25", {0, 25, 50}),
        ("10-50/20", {10, 30, 50}),
        ("1-4/2", {1, 3}),
        ("*/90", {0}),
        ("1,10-12,*/30", {0, 1, 10, 11, 12, 30}),
        ("5,5,5", {5}),
    ],
)
def test_minute_field_forms(minute_field: str, expected: set[int]) -> None:
    assert CronSchedule.parse(f"{minute_field} * * * *").minutes == expected


def test_ranges_and_steps_use_each_fields_own_bounds() -> None:
    schedule = CronSchedule.parse("* */6 */10 */5 *")
    assert schedule.hours == {0, 6, 12, 18}
    assert schedule.days_of_month == {1, 11, 21, 31}  # day-of-month counts from 1
    assert schedule.months == {1, 6, 11}


@pytest.mark.parametrize(
    ("weekday_field", "expected"), [("0", {0}), ("7", {0}), ("5-7", {5, 6, 0}), ("*/2", {0, 2, 4, 6})]
)
def test_sunday_is_both_0_and_7(weekday_field: str, expected: set[int]) -> None:
    assert CronSchedule.parse(f"0 0 * * {weekday_field}").days_of_week == expected


def test_fields_may_be_separated_by_any_whitespace() -> None:
    assert CronSchedule.parse("  15\t2  * *   * ").hours == {2}


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("* * * *", "4 fields"),
        ("* * * * * *", "6 fields"),
        ("", "0 fields"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("* 24 * * *", "hour: 24 is outside 0-23"),
        ("* * 0 * *", "day of month: 0 is outside 1-31"),
        ("* * 32 * *", "day of month: 32"),
        ("* * * 0 *", "month: 0 is outside 1-12"),
        ("* * * 13 *", "month: 13"),
        ("* * * * 8", "day of week: 8 is outside 0-7"),
        ("* * * jan *", "month: 'jan' is not a number"),
        ("* * * * mon", "day of week: 'mon' is not a number"),
        ("@daily", "1 fields"),
        ("0 0 ? * *", "not a number"),
        ("0 0 L * *", "not a number"),
        ("0 0 * * 1#2", "not a number"),
        ("-1 * * * *", "not a number"),
        ("5/15 * * * *", "needs a range before the step"),
        ("*/0 * * * *", "step '0' must be a positive number"),
        ("*/ * * * *", "step '' must be a positive number"),
        ("*/-5 * * * *", "must be a positive number"),
        ("30-10 * * * *", "range 30-10 runs backwards"),
        ("1,,2 * * * *", "empty list item"),
        ("1, * * * *", "empty list item"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
    ],
)
def test_invalid_expressions_are_refused_with_the_reason(expression: str, complaint: str) -> None:
    with pytest.raises(CronError, match=complaint.replace("?", r"\?")):
        CronSchedule.parse(expression)


@pytest.mark.parametrize("expression", ["0 0 29 2 *", "0 0 31 * *", "0 0 30 2 1", "0 0 31 1-2 *"])
def test_schedules_that_fire_in_some_month_are_accepted(expression: str) -> None:
    CronSchedule.parse(expression)


# --- matching --------------------------------------------------------------------------------------------------


def test_matching_is_per_minute_and_ignores_seconds() -> None:
    schedule = CronSchedule.parse("0 2 * * *")
    assert schedule.matches(utc(2024, 5, 10, 2, 0))
    assert schedule.matches(utc(2024, 5, 10, 2, 0, 59, 999_999))
    assert not schedule.matches(utc(2024, 5, 10, 2, 1))
    assert not schedule.matches(utc(2024, 5, 10, 1, 59, 59))
    assert not schedule.matches(utc(2024, 5, 10, 14, 0))


def test_times_in_other_zones_are_compared_in_utc() -> None:
    schedule = CronSchedule.parse("0 2 * * *")
    paris_summer = timezone(timedelta(hours=2))
    assert schedule.matches(datetime(2024, 7, 1, 4, 0, tzinfo=paris_summer))
    assert not schedule.matches(datetime(2024, 7, 1, 2, 0, tzinfo=paris_summer))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CronSchedule.parse("* * * * *").matches(datetime(2024, 1, 1))  # noqa: DTZ001 - the case under test


def test_month_and_leap_day_matching() -> None:
    schedule = CronSchedule.parse("0 0 29 2 *")
    assert schedule.matches(utc(2024, 2, 29))
    assert not schedule.matches(utc(2024, 3, 29))
    assert not schedule.matches(utc(2024, 2, 28))


def test_both_day_fields_restricted_fire_when_either_matches() -> None:
    schedule = CronSchedule.parse("0 0 1,15 * 1")  # crontab(5): the 1st, the 15th and every Monday
    assert schedule.matches_day(weekday(date(2024, 2, 15), THURSDAY))  # by day of month
    assert schedule.matches_day(weekday(date(2024, 2, 12), MONDAY))  # by day of week
    assert not schedule.matches_day(weekday(date(2024, 2, 14), WEDNESDAY))


def test_only_day_of_week_restricted_means_only_that_weekday() -> None:
    schedule = CronSchedule.parse("0 0 * * 1")
    assert schedule.matches_day(weekday(date(2024, 2, 12), MONDAY))
    assert not schedule.matches_day(weekday(date(2024, 2, 15), THURSDAY))


def test_only_day_of_month_restricted_means_only_that_day() -> None:
    schedule = CronSchedule.parse("0 0 15 * *")
    assert schedule.matches_day(date(2024, 2, 15))
    assert not schedule.matches_day(weekday(date(2024, 2, 12), MONDAY))


def test_a_day_field_starting_with_a_star_counts_as_unrestricted_as_in_vixie_cron() -> None:
    anded = CronSchedule.parse("0 0 */2 * 1")  # odd days that are Mondays
    assert anded.matches_day(weekday(date(2024, 1, 1), MONDAY))
    assert not anded.matches_day(weekday(date(2024, 1, 8), MONDAY))
    assert not anded.matches_day(weekday(date(2024, 1, 3), WEDNESDAY))

    ored = CronSchedule.parse("0 0 1-31/2 * 1")  # the same days written as a range: odd days or Mondays
    assert ored.matches_day(weekday(date(2024, 1, 3), WEDNESDAY))
    assert ored.matches_day(weekday(date(2024, 1, 8), MONDAY))
    assert not ored.matches_day(weekday(date(2024, 1, 10), WEDNESDAY))


def test_restricted_days_still_require_the_month() -> None:
    schedule = CronSchedule.parse("0 0 1 6 1")
    assert not schedule.matches_day(weekday(date(2024, 1, 1), MONDAY))
    assert schedule.matches_day(weekday(date(2024, 6, 3), MONDAY))


@pytest.mark.parametrize("weekday_field", ["0", "7"])
def test_sunday_matches_as_0_or_7(weekday_field: str) -> None:
    schedule = CronSchedule.parse(f"0 0 * * {weekday_field}")
    assert schedule.matches_day(weekday(date(2024, 1, 7), SUNDAY))
    assert not schedule.matches_day(weekday(date(2024, 1, 8), MONDAY))


# --- next run --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # strictly after: at the firing minute itself, the next one is a day later
        ("0 2 * * *", utc(2024, 5, 10, 2, 0), utc(2024, 5, 11, 2, 0)),
        ("0 2 * * *", utc(2024, 5, 10, 1, 59, 59, 999_999), utc(2024, 5, 10, 2, 0)),
        ("0 2 * * *", utc(2024, 5, 10, 2, 0, 30), utc(2024, 5, 11, 2, 0)),
        ("15 * * * *", utc(2024, 5, 10, 10, 15), utc(2024, 5, 10, 11, 15)),
        ("*/15 * * * *", utc(2024, 5, 10, 10, 44, 30), utc(2024, 5, 10, 10, 45)),
        ("30 3 * * *", utc(2024, 5, 10, 3, 29), utc(2024, 5, 10, 3, 30)),
        # month boundaries
        ("0 0 1 * *", utc(2024, 1, 31, 12, 0), utc(2024, 2, 1)),
        ("0 0 31 * *", utc(2024, 4, 1), utc(2024, 5, 31)),  # April has 30 days
        ("0 6 4 * *", utc(2024, 12, 4, 6, 0), utc(2025, 1, 4, 6, 0)),
        ("0 8 2 * *", utc(2024, 2, 2, 8, 1), utc(2024, 3, 2, 8, 0)),
        # year boundaries
        ("15 * * * *", utc(2024, 12, 31, 23, 20), utc(2025, 1, 1, 0, 15)),
        ("0 0 1 1 *", utc(2024, 12, 31, 23, 59), utc(2025, 1, 1)),
        ("30 23 31 12 *", utc(2024, 12, 31, 23, 30), utc(2025, 12, 31, 23, 30)),
        # leap days: 2100 is not a leap year, so after 2096 the next 29 February is in 2104
        ("0 12 29 2 *", utc(2024, 3, 1), utc(2028, 2, 29, 12, 0)),
        ("0 12 29 2 *", utc(2096, 3, 1), utc(2104, 2, 29, 12, 0)),
        ("0 0 * 2 *", utc(2023, 2, 28, 0, 0), utc(2024, 2, 1)),
        # weekdays
        ("0 9 * * 1", utc(2024, 1, 7, 10, 0), utc(2024, 1, 8, 9, 0)),
        ("0 9 * * 1", utc(2024, 1, 8, 9, 0), utc(2024, 1, 15, 9, 0)),
        ("0 0 1,15 * 1", utc(2024, 2, 12, 0, 0), utc(2024, 2, 15)),  # Monday 12th, then the 15th (a Thursday)
        ("0 0 */2 * 1", utc(2024, 1, 1, 0, 0), utc(2024, 1, 15)),  # next odd-numbered Monday
        ("0 0 * * 0", utc(2024, 12, 29, 0, 0), utc(2025, 1, 5)),  # Sunday to Sunday across the year
    ],
)
def test_next_run(expression: str, after: datetime, expected: datetime) -> None:
    assert CronSchedule.parse(expression).next_after(after) == expected


def test_next_run_is_reported_in_utc_whatever_zone_it_was_asked_in() -> None:
    tokyo = timezone(timedelta(hours=9))
    result = CronSchedule.parse("0 2 * * *").next_after(datetime(2024, 5, 10, 10, 0, tzinfo=tokyo))  # 01:00 UTC
    assert result == utc(2024, 5, 10, 2, 0)
    assert result.utcoffset() == timedelta(0)


def cron_field(low: int, high: int) -> st.SearchStrategy[str]:
    values = st.lists(st.integers(low, high), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v)))
    ranges = st.tuples(st.integers(low, high), st.integers(low, high), st.integers(1, 10)).map(
        lambda t: f"{min(t[0], t[1])}-{max(t[0], t[1])}/{t[2]}"
    )
    return st.one_of(values, ranges, st.integers(1, high).map(lambda step: f"*/{step}"), st.just("*"))


@st.composite
def weekly_schedules(draw: st.DrawFn) -> str:
    """Schedules that fire at least once a week (a weekday always matches), so a minute-by-minute scan stays short."""
    weekdays = draw(cron_field(0, 7))
    # With a restricted weekday field a restricted day of month only adds days (OR); otherwise keep it "*".
    days = "*" if weekdays.startswith("*") else draw(st.one_of(st.just("*"), cron_field(1, 31)))
    return f"{draw(cron_field(0, 59))} {draw(cron_field(0, 23))} {days} * {weekdays}"


@settings(max_examples=40, deadline=None)
@given(
    expression=weekly_schedules(),
    # hypothesis takes naive bounds and attaches the zone itself
    after=st.datetimes(datetime(2023, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),  # noqa: DTZ001
)
def test_next_run_is_the_first_matching_minute(expression: str, after: datetime) -> None:
    schedule = CronSchedule.parse(expression)
    result = schedule.next_after(after)
    assert result > after
    assert schedule.matches(result)
    minute = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute < result:
        assert not schedule.matches(minute), f"{expression}: {minute} matches before {result}"
        minute += timedelta(minutes=1)
