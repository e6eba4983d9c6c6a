"""Validation of the identifiers the registry keeps: credit codes and region codes."""

from __future__ import annotations

import re

# GB 32100-2015: the unified social credit code (统一社会信用代码).
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_REGION_RE = re.compile(r"[1-9][0-9]{5}")  # ASCII digits: \d takes full-width ones too


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid unified social credit code, or ``None`` when it is."""
    if len(code) != 18:
        return f"统一社会信用代码应为18位,实际为{len(code)}位"
    bad = [c for c in code if c not in _USCC_ALPHABET]
    if bad:
        return f"统一社会信用代码含非法字符 '{bad[0]}'"
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code, _USCC_WEIGHTS, strict=False))
    expected = _USCC_ALPHABET[(31 - total % 31) % 31]
    if code[17] != expected:
        return f"统一社会信用代码校验位错误(应为 {expected})"
    return None


def region_code_problem(code: str) -> str | None:
    """Why ``code`` is not a 6-digit administrative region code (GB/T 2260), or ``None``."""
    if not _REGION_RE.fullmatch(code):
        return "行政区划代码应为6位数字"
    return None


def city_of(region_code: str) -> str:
    """The city-level (地市级) region code containing ``region_code``."""
    return region_code[:4] + "00"
