"""Working days on the official calendar (State Council holiday schedule, with 调休 make-up days).

Years the ``chinese_calendar`` library knows come from it; ``[ledger.calendar]`` in the
configuration adds (or corrects) years it does not know yet, one table per year. A day in a year
known to neither is counted as a working day when it falls on Monday to Friday, and the deadline
that depends on it is marked provisional, with a warning in the log.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class CalendarError(ValueError):
    """The ``[ledger.calendar]`` table cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's official schedule: holidays (also on weekdays) and make-up working days."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class Deadline:
    date: date
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """The official calendar: configured years first, then the library, then weekdays only."""

    years: Mapping[int, YearSchedule] = field(default_factory=dict)
    use_library: bool = True

    def knows(self, year: int) -> bool:
        return year in self.years or (self.use_library and _library_knows(year))

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day (for an unknown year: Monday to Friday)."""
        schedule = self.years.get(day.year)
        if schedule is not None:
            if day in schedule.workdays:
                return True
            return day.weekday() < 5 and day not in schedule.holidays
        if self.use_library and _library_knows(day.year):
            import chinese_calendar

            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> WorkCalendar:
        """From the loaded settings (``ledger.calendar``) or that table itself."""
        ledger = settings.get("ledger", settings)
        table = ledger.get("calendar", {}) if isinstance(ledger, Mapping) else {}
        if not isinstance(table, Mapping):
            raise CalendarError("[ledger.calendar] must be a table")
        return cls(years={_year_key(key): _schedule(key, value) for key, value in table.items()})


def _year_key(key: object) -> int:
    text = str(key).strip()
    if not (text.isdigit() and len(text) == 4):
        raise CalendarError(f"ledger.calendar: '{key}' is not a year (expected e.g. \"2027\")")
    return int(text)


def _schedule(key: object, value: object) -> YearSchedule:
    if not isinstance(value, Mapping):
        raise CalendarError(f"ledger.calendar.{key} must be a table with holidays and workdays")
    unknown = set(value) - {"holidays", "workdays"}
    if unknown:
        raise CalendarError(f"ledger.calendar.{key}: unknown setting '{sorted(unknown)[0]}'")
    year = _year_key(key)
    return YearSchedule(
        holidays=frozenset(_dates(f"{key}.holidays", value.get("holidays", []), year)),
        workdays=frozenset(_dates(f"{key}.workdays", value.get("workdays", []), year)),
    )


def _dates(name: str, values: object, year: int) -> Iterable[date]:
    if not isinstance(values, list):
        raise CalendarError(f"ledger.calendar.{name} must be a list of dates")
    for value in values:
        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError as exc:
            raise CalendarError(f"ledger.calendar.{name}: '{value}' is not a date") from exc
        if day.year != year:
            raise CalendarError(f"ledger.calendar.{name}: {day} is not in {year}")
        yield day


@functools.cache
def _library_range() -> tuple[int, int]:
    from chinese_calendar import constants

    years = {day.year for day in constants.holidays} | {day.year for day in constants.workdays}
    return min(years), max(years)


def _library_knows(year: int) -> bool:
    low, high = _library_range()
    return low <= year <= high


def add_working_days(start: date, n: int, calendar: WorkCalendar) -> Deadline:
    """The ``n``-th working day after ``start`` (a detection on day D counts from D + 1).

    Provisional when any day counted falls in a year the calendar does not know.
    """
    if n < 0:
        raise ValueError(f"working days must be >= 0, not {n}")
    day = start
    counted = 0
    unknown: set[int] = set()
    while counted < n:
        day += timedelta(days=1)
        if not calendar.knows(day.year):
            unknown.add(day.year)
        if calendar.is_workday(day):
            counted += 1
    if unknown:
        log.warning(
            "deadline_provisional",
            start=start.isoformat(),
            deadline=day.isoformat(),
            unknown_years=sorted(unknown),
            hint="add the official holiday schedule to [ledger.calendar] in config.toml",
        )
    return Deadline(day, provisional=bool(unknown))


DEFAULT_WORKING_DAYS = 5


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """``[ledger]``: N working days after detection on the official calendar."""

    working_days: int = DEFAULT_WORKING_DAYS
    calendar: WorkCalendar = field(default_factory=WorkCalendar)

    def deadline(self, detected: date) -> Deadline:
        """The deadline for a problem detected on ``detected`` (a Shanghai calendar date)."""
        return add_working_days(detected, self.working_days, self.calendar)

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> DeadlineRule:
        ledger = settings.get("ledger", {})
        if not isinstance(ledger, Mapping):
            raise CalendarError("[ledger] must be a table")
        days = ledger.get("deadline_working_days", DEFAULT_WORKING_DAYS)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 60:
            raise CalendarError(f"ledger.deadline_working_days must be 1-60, not {days!r}")
        return cls(days, WorkCalendar.from_config(settings))
