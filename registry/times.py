"""Times as the offices write them: Asia/Shanghai unless an offset says otherwise."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_SPACED = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_time(value: str | datetime) -> datetime:
    """ISO 8601 or ``YYYY-MM-DD HH:MM[:SS]``; a time without an offset is Asia/Shanghai."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = value.strip()
        match = _SPACED.fullmatch(text)
        try:
            if match:
                year, month, day, hour, minute, second = (int(p or 0) for p in match.groups())
                parsed = datetime(year, month, day, hour, minute, second)
            else:
                parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"时间格式应为 ISO 8601 或 YYYY-MM-DD HH:MM[:SS]: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def shanghai_today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()
