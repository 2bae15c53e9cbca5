"""A five-field cron matcher with Vixie cron's semantics, for the local scheduler.

``minute hour day-of-month month day-of-week``, evaluated in UTC (as ``infra/jobs.json`` states its schedules). Each
field is a comma-separated list of items; an item is ``*``, ``N``, ``A-B``, ``*/S`` or ``A-B/S``. Day of week runs
0-7 with both 0 and 7 meaning Sunday. Names (``jan``, ``mon``), ``@daily`` macros and the Quartz extensions
(``?``, ``L``, ``W``, ``#``) are refused, as is ``N/S`` (Vixie cron rejects it; other crons read it differently), so a
schedule means the same thing here as on Cloud Scheduler or is rejected.

The day rule, as in Vixie cron's source (``entry.c`` sets ``DOM_STAR``/``DOW_STAR`` when a field *starts* with
``*``): if either day field starts with ``*``, a day must match both fields; if neither does, it must match either.
So ``0 0 1,15 * 1`` fires on the 1st, the 15th and every Monday, while ``0 0 */2 * 1`` fires on odd-numbered days
that are Mondays.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

_GREGORIAN_CYCLE_DAYS = 146_097
"""The calendar repeats every 400 years; a schedule that has not fired within one cycle never will."""


class CronError(ValueError):
    """An expression that is not a valid five-field cron schedule; the message says which field and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12),
    _Field("day of week", 0, 7),
)


def _number(text: str, field: _Field) -> int:
    if not text.isascii() or not text.isdigit():
        raise CronError(f"{field.name}: {text!r} is not a number (names and special characters are not supported)")
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronError(f"{field.name}: {value} is outside {field.low}-{field.high}")
    return value


def _item(text: str, field: _Field) -> set[int]:
    span, slash, step_text = text.partition("/")
    step = 1
    if slash:
        if not step_text.isascii() or not step_text.isdigit() or int(step_text) == 0:
            raise CronError(f"{field.name}: step {step_text!r} must be a positive number")
        step = int(step_text)
    if span == "*":
        low, high = field.low, field.high
    elif "-" in span:
        first, _, last = span.partition("-")
        low, high = _number(first, field), _number(last, field)
        if low > high:
            raise CronError(f"{field.name}: range {span} runs backwards")
    elif slash:
        raise CronError(f"{field.name}: {text!r} needs a range before the step (write */{step} or A-B/{step})")
    else:
        low = high = _number(span, field)
    return set(range(low, high + 1, step))


def _parse_field(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{field.name}: empty list item in {text!r}")
        values |= _item(item, field)
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule. Build it with :meth:`parse`."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    """0 = Sunday ... 6 = Saturday (a 7 in the expression is stored as 0)."""
    day_of_month_star: bool
    """The day-of-month field starts with ``*``."""
    day_of_week_star: bool
    """The day-of-week field starts with ``*``."""

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse ``minute hour day-of-month month day-of-week``.

        Raises:
            CronError: not five fields, a malformed or out-of-range item, or a schedule that can never fire
                (``0 0 30 2 *``).
        """
        parts = expression.split()
        if len(parts) != len(_FIELDS):
            raise CronError(f"{expression!r} has {len(parts)} fields; expected 5 (minute hour day month weekday)")
        minutes, hours, days, months, weekdays = (
            _parse_field(part, field) for part, field in zip(parts, _FIELDS, strict=True)
        )
        schedule = cls(
            expression=expression,
            minutes=minutes,
            hours=hours,
            days_of_month=days,
            months=months,
            days_of_week=frozenset(day % 7 for day in weekdays),
            day_of_month_star=parts[2].startswith("*"),
            day_of_week_star=parts[4].startswith("*"),
        )
        if schedule.day_of_week_star and not any(day <= _longest_month(month) for day in days for month in months):
            raise CronError(f"{expression!r} never fires: no selected month has any of the selected days")
        return schedule

    def matches_day(self, day: date) -> bool:
        """True if the schedule fires at some time of ``day``."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days_of_month
        in_week = (day.weekday() + 1) % 7 in self.days_of_week  # Python counts from Monday, cron from Sunday
        if self.day_of_month_star or self.day_of_week_star:
            return in_month and in_week
        return in_month or in_week

    def matches(self, when: datetime) -> bool:
        """True if the schedule fires in the minute containing ``when`` (an aware datetime, compared in UTC)."""
        utc = _as_utc(when)
        return utc.minute in self.minutes and utc.hour in self.hours and self.matches_day(utc.date())

    def next_after(self, when: datetime) -> datetime:
        """The first firing minute strictly after ``when``, in UTC."""
        start = _as_utc(when).replace(second=0, microsecond=0) + timedelta(minutes=1)
        hours = sorted(self.hours)
        minutes = sorted(self.minutes)
        day = start.date()
        for _ in range(_GREGORIAN_CYCLE_DAYS + 1):
            if self.matches_day(day):
                earliest = start.time() if day == start.date() else time(0, 0)
                for hour in hours:
                    for minute in minutes:
                        if (hour, minute) >= (earliest.hour, earliest.minute):
                            return datetime.combine(day, time(hour, minute), tzinfo=UTC)
            day += timedelta(days=1)
        raise CronError(f"{self.expression!r} never fires")  # parse() refuses such schedules; kept as a guard


def _longest_month(month: int) -> int:
    return calendar.monthrange(2000, month)[1]  # 2000 is a leap year, so February counts 29 days


def _as_utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("cron times must be timezone-aware (UTC)")
    return when.astimezone(UTC)
