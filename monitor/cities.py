"""City- and county-level grouping of region codes (GB/T 2260) for summaries and bulletins."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_CITY_NAME = re.compile(r"^(.{2,8}?(?:自治州|地区|盟|市|州))")
_PROVINCE_NAME = re.compile(r"^(.{2,8}?(?:自治区|省|市))")
# a county's name, after its city's when the unit's name starts with that
_COUNTY_NAME = re.compile(
    r"^(?:.{2,8}?(?:自治州|地区|盟|市|州))?(.{1,8}?(?:自治县|自治旗|区|县|市|旗))"
)


def city_code(region_code: str) -> str:
    """The city-level code of a region: 510104 -> 510100 (a province's own code stays)."""
    return region_code[:4] + "00" if len(region_code) == 6 else region_code


def city_name(code: str, sponsors: Iterable[str]) -> str:
    """A readable name for a city code, read from the names of the units sponsoring accounts
    there (成都市锦江区公安分局 -> 成都市); the code itself when no name says it."""
    pattern = _PROVINCE_NAME if code.endswith("0000") else _CITY_NAME
    found = Counter(m.group(1) for s in sponsors if (m := pattern.match(s)))
    if not found:
        return code
    name = found.most_common(1)[0][0]
    return f"{name}本级" if code.endswith("0000") else name


def county_name(code: str, sponsors: Iterable[str]) -> str:
    """A readable name for a county-level code, read from its units' names (成都市锦江区公安分局
    -> 锦江区); a city's own code is the city's 本级; the code itself when no name says it."""
    if code.endswith("00"):
        name = city_name(code, sponsors)
        return name if name == code or name.endswith("本级") else f"{name}本级"
    found = Counter(m.group(1) for s in sponsors if (m := _COUNTY_NAME.match(s)))
    return found.most_common(1)[0][0] if found else code
