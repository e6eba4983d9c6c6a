"""Deadlines in working days on the official calendar: holidays and 调休 make-up days."""

from __future__ import annotations

from datetime import date

import pytest
import structlog

from monitor.workdays import (
    CalendarError,
    DeadlineRule,
    WorkCalendar,
    add_working_days,
)

LIBRARY = WorkCalendar()
# A schedule for a year the library does not know, as an office would put it in config.toml.
# The 2027 Spring Festival falls on 6 February; these days are test data, not the official notice.
CONFIGURED_2027 = {
    "ledger": {
        "calendar": {
            "2027": {
                "holidays": [f"2027-02-{d:02d}" for d in range(8, 13)] + ["2027-01-01"],
                "workdays": ["2027-02-20"],
            }
        }
    }
}


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # National Day 2026: 1-7 Oct off, Sunday 20 Sep and Saturday 10 Oct are working days.
        (date(2026, 9, 28), 5, date(2026, 10, 10)),  # Tue 29, Wed 30, Thu 8, Fri 9, Sat 10 (调休)
        (date(2026, 9, 30), 5, date(2026, 10, 13)),  # 8, 9, Sat 10 (调休), 12, 13
        (date(2026, 9, 18), 5, date(2026, 9, 24)),  # Sun 20 Sep (调休) counts: 20, 21, 22, 23, 24
        # Spring Festival 2026: 15-23 Feb off, Saturdays 14 and 28 Feb are working days.
        (date(2026, 2, 13), 5, date(2026, 2, 27)),  # Sat 14 (调休), then 24, 25, 26, 27
        (date(2026, 2, 24), 4, date(2026, 2, 28)),  # 25, 26, 27, Sat 28 (调休)
        # An ordinary week: the weekend does not count.
        (date(2026, 11, 26), 5, date(2026, 12, 3)),
    ],
)
def test_deadlines_follow_the_official_calendar(start: date, days: int, expected: date) -> None:
    deadline = add_working_days(start, days, LIBRARY)
    assert deadline.date == expected
    assert not deadline.provisional


def test_make_up_days_are_working_days_and_holidays_are_not() -> None:
    assert LIBRARY.is_workday(date(2026, 10, 10))  # Saturday, 调休
    assert LIBRARY.is_workday(date(2026, 2, 14))  # Saturday, 调休
    assert not LIBRARY.is_workday(date(2026, 10, 5))  # Monday, National Day
    assert not LIBRARY.is_workday(date(2026, 2, 16))  # Monday, Spring Festival


def test_detection_on_a_holiday_counts_from_the_next_working_day() -> None:
    assert add_working_days(date(2026, 10, 3), 1, LIBRARY).date == date(2026, 10, 8)


def test_configured_year_is_used_and_not_provisional() -> None:
    calendar = WorkCalendar.from_config(CONFIGURED_2027)
    assert calendar.knows(2027)
    # Fri 5 Feb 2027: 8-12 Feb configured off, Sat 20 Feb configured as a working day.
    deadline = add_working_days(date(2027, 2, 5), 6, calendar)
    assert deadline.date == date(2027, 2, 20)  # 15, 16, 17, 18, 19, Sat 20 (调休)
    assert not deadline.provisional


def test_unknown_year_is_provisional_with_a_visible_warning() -> None:
    assert not LIBRARY.knows(2031)
    with structlog.testing.capture_logs() as logs:
        deadline = add_working_days(date(2031, 3, 6), 5, LIBRARY)  # a Thursday
    assert deadline.date == date(2031, 3, 13)  # Monday to Friday only
    assert deadline.provisional
    warning = [entry for entry in logs if entry["event"] == "deadline_provisional"]
    assert (
        warning and warning[0]["log_level"] == "warning" and warning[0]["unknown_years"] == [2031]
    )


def test_deadline_running_into_an_unknown_year_is_provisional() -> None:
    start = date(2026, 12, 28)
    assert LIBRARY.knows(2026) and not LIBRARY.knows(2027)
    deadline = add_working_days(start, 5, LIBRARY)
    assert deadline.provisional and deadline.date.year == 2027
    configured = add_working_days(start, 5, WorkCalendar.from_config(CONFIGURED_2027))
    assert not configured.provisional
    assert configured.date == date(2027, 1, 5)  # 29, 30, 31 Dec, (1 Jan off), 4, 5 Jan


def test_rule_reads_the_configuration() -> None:
    rule = DeadlineRule.from_config({"ledger": {"deadline_working_days": 6, "calendar": {}}})
    assert rule.working_days == 6
    assert rule.deadline(date(2026, 9, 28)).date == date(2026, 10, 12)


@pytest.mark.parametrize(
    "table",
    [
        {"27": {"holidays": []}},
        {"2027": {"holidays": ["2028-01-01"]}},
        {"2027": {"holidays": ["not a date"]}},
        {"2027": {"holiday": []}},
    ],
)
def test_bad_calendar_tables_are_refused(table: dict[str, object]) -> None:
    with pytest.raises(CalendarError):
        WorkCalendar.from_config({"ledger": {"calendar": table}})
