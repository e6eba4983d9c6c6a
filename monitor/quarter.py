"""Calendar quarters (检查批次): ``2026Q4`` and the arithmetic the quarterly spot checks need.

A :class:`Quarter` is a value: frozen, hashable and ordered chronologically, so it can be a
dictionary key, a database column (as ``str(q)``) and compared with ``<``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_QUARTER_RE = re.compile(r"(\d{4})\s*-?\s*[Qq]([1-4])")
_CHINESE_DIGITS = ("一", "二", "三", "四")


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    """Quarter ``q`` (1-4) of ``year`` (1-9999); ``str()`` gives ``"2026Q4"``."""

    year: int
    q: int

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise TypeError(f"quarter year must be an int, not {type(self.year).__name__}")
        if isinstance(self.q, bool) or not isinstance(self.q, int):
            raise TypeError(f"quarter number must be an int, not {type(self.q).__name__}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"quarter year {self.year} is outside 1-9999")
        if not 1 <= self.q <= 4:
            raise ValueError(f"quarter number {self.q} is outside 1-4")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Read ``"2026Q4"`` (also ``"2026q4"`` and ``"2026-Q4"``); ValueError otherwise."""
        if not isinstance(text, str):
            raise ValueError(f"quarter must be text like 2026Q4, not {type(text).__name__}")
        match = _QUARTER_RE.fullmatch(text.strip())
        if match is None:
            raise ValueError(
                f"invalid quarter {text!r}: expected YEAR followed by Q1-Q4, e.g. 2026Q4"
            )
        year = int(match.group(1))
        if year < 1:
            raise ValueError(f"invalid quarter {text!r}: year must be 0001-9999")
        return cls(year, int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        """The quarter containing ``day`` (a ``datetime`` is taken at its own calendar date)."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}Q{self.q}"

    @property
    def label(self) -> str:
        """Chinese display form, e.g. ``2026年第四季度``."""
        return f"{self.year}年第{_CHINESE_DIGITS[self.q - 1]}季度"

    @property
    def index(self) -> int:
        """Quarters since the start of year 0: consecutive quarters have consecutive indexes."""
        return self.year * 4 + self.q - 1

    @classmethod
    def from_index(cls, index: int) -> Quarter:
        """Inverse of :attr:`index`."""
        year, rest = divmod(index, 4)
        return cls(year, rest + 1)

    @property
    def start(self) -> date:
        """First day of the quarter."""
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        """Last day of the quarter (inclusive)."""
        if self.q == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.q + 1, 1) - timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        """``day in quarter`` for a ``date`` (or ``datetime``, by its calendar date)."""
        if not isinstance(day, date):
            return False
        return Quarter.of(day) == self

    def shift(self, quarters: int) -> Quarter:
        """The quarter ``quarters`` later (earlier when negative)."""
        return Quarter.from_index(self.index + quarters)

    def next(self) -> Quarter:
        return self.shift(1)

    def previous(self) -> Quarter:
        return self.shift(-1)

    def quarters_since(self, other: Quarter) -> int:
        """How many quarters ``other`` lies before ``self`` (negative when after)."""
        return self.index - other.index

    def window(self, count: int) -> tuple[Quarter, ...]:
        """The ``count`` consecutive quarters ending with ``self``, oldest first."""
        if count < 1:
            raise ValueError(f"a window needs at least one quarter, not {count}")
        return tuple(self.shift(offset) for offset in range(1 - count, 1))
