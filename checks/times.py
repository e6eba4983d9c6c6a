"""Time handling: naive datetimes are Asia/Shanghai (the interface's rule for offset-less times)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def aware(moment: datetime) -> datetime:
    """``moment`` as an aware datetime in Asia/Shanghai; a naive value is taken as Shanghai time."""
    if moment.tzinfo is None:
        return datetime.combine(moment, moment.time(), SHANGHAI)  # cheaper than replace()
    if moment.tzinfo is SHANGHAI:
        return moment
    return moment.astimezone(SHANGHAI)


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in Asia/Shanghai."""
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def fmt(moment: datetime) -> str:
    """Shanghai wall-clock time to the minute, as shown in descriptions."""
    return aware(moment).strftime("%Y-%m-%d %H:%M")
