from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.quarter import Quarter

quarters = st.builds(Quarter, st.integers(1900, 2200), st.integers(1, 4))


@pytest.mark.parametrize(
    ("text", "year", "q"),
    [("2026Q4", 2026, 4), ("2026q1", 2026, 1), (" 2025-Q2 ", 2025, 2), ("0001Q3", 1, 3)],
)
def test_parse(text: str, year: int, q: int) -> None:
    assert Quarter.parse(text) == Quarter(year, q)


@pytest.mark.parametrize(
    "text", ["", "2026", "2026Q0", "2026Q5", "26Q1", "2026Q12", "Q4 2026", "2026Q4x", "0000Q1"]
)
def test_parse_refuses_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match="quarter"):
        Quarter.parse(text)


def test_parse_refuses_non_text() -> None:
    with pytest.raises(ValueError, match="2026Q4"):
        Quarter.parse(20264)  # type: ignore[arg-type]


@pytest.mark.parametrize(("year", "q"), [(2026, 0), (2026, 5), (0, 1), (10000, 1)])
def test_constructor_refuses_out_of_range(year: int, q: int) -> None:
    with pytest.raises(ValueError):
        Quarter(year, q)


def test_constructor_refuses_non_int() -> None:
    with pytest.raises(TypeError):
        Quarter("2026", 1)  # type: ignore[arg-type]


@given(quarters)
def test_str_round_trip(quarter: Quarter) -> None:
    text = str(quarter)
    assert len(text) == 6 and text[4] == "Q"
    assert Quarter.parse(text) == quarter


def test_format_and_label() -> None:
    assert str(Quarter(2026, 4)) == "2026Q4"
    assert Quarter(2026, 4).label == "2026年第四季度"
    assert Quarter(2025, 1).label == "2025年第一季度"


@pytest.mark.parametrize(
    ("quarter", "start", "end"),
    [
        (Quarter(2026, 1), date(2026, 1, 1), date(2026, 3, 31)),
        (Quarter(2026, 2), date(2026, 4, 1), date(2026, 6, 30)),
        (Quarter(2026, 3), date(2026, 7, 1), date(2026, 9, 30)),
        (Quarter(2026, 4), date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_boundaries(quarter: Quarter, start: date, end: date) -> None:
    assert (quarter.start, quarter.end) == (start, end)
    assert Quarter.of(start) == quarter == Quarter.of(end)
    assert Quarter.of(start - timedelta(days=1)) == quarter.previous()
    assert Quarter.of(end + timedelta(days=1)) == quarter.next()


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_of_contains_the_day(day: date) -> None:
    quarter = Quarter.of(day)
    assert quarter.start <= day <= quarter.end
    assert day in quarter
    assert day not in quarter.next()


def test_of_datetime_uses_calendar_date() -> None:
    assert Quarter.of(datetime(2026, 3, 31, 23, 59)) == Quarter(2026, 1)
    assert datetime(2026, 4, 1, 0, 0) in Quarter(2026, 2)
    assert "2026-04-01" not in Quarter(2026, 2)


@given(quarters)
def test_quarters_tile_the_calendar(quarter: Quarter) -> None:
    assert quarter.next().start == quarter.end + timedelta(days=1)
    assert quarter.previous().end == quarter.start - timedelta(days=1)
    assert quarter.next().previous() == quarter == quarter.previous().next()
    assert quarter.previous() < quarter < quarter.next()


def test_previous_and_next_cross_years() -> None:
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter(2025, 4).next() == Quarter(2026, 1)
    assert Quarter(2026, 3).shift(-7) == Quarter(2024, 4)
    assert Quarter(2026, 3).shift(6) == Quarter(2028, 1)


@given(quarters, st.integers(-200, 200))
def test_shift_and_distance(quarter: Quarter, n: int) -> None:
    other = quarter.shift(n)
    assert other.quarters_since(quarter) == n
    assert quarter.quarters_since(other) == -n
    assert (other > quarter) == (n > 0)
    assert Quarter.from_index(quarter.index) == quarter


def test_ordering_is_chronological() -> None:
    texts = ["2026Q1", "2025Q4", "2026Q3", "2024Q2", "2026Q2"]
    ordered = sorted(Quarter.parse(t) for t in texts)
    assert [str(q) for q in ordered] == ["2024Q2", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]


def test_window() -> None:
    assert Quarter(2026, 2).window(4) == (
        Quarter(2025, 3),
        Quarter(2025, 4),
        Quarter(2026, 1),
        Quarter(2026, 2),
    )
    assert Quarter(2026, 2).window(1) == (Quarter(2026, 2),)
    with pytest.raises(ValueError):
        Quarter(2026, 2).window(0)


def test_hashable_and_frozen() -> None:
    assert len({Quarter(2026, 1), Quarter.parse("2026Q1"), Quarter(2026, 2)}) == 2
    with pytest.raises(AttributeError):
        Quarter(2026, 1).q = 2  # type: ignore[misc]
