"""Whether an account's name relates to its sponsor (the national naming rule, a warning only)."""

from __future__ import annotations

import functools
import re

_GENERIC = re.compile(
    "中华人民共和国|中国共产党|人民政府|办公室|办公厅|委员会|人民|政府|中共|中国|省|市|县|区|局|厅|委|办"
)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


@functools.lru_cache(maxsize=16384)
def name_relates_to_sponsor(name: str, sponsor: str) -> bool:
    """True when the name shares a meaningful two-character word with the sponsor's name.

    Generic words (人民政府, 办公室, 省/市/县 ...) are dropped first, so "平安成都" relates to
    "成都市公安局" through 成都 while "人民日报" does not relate to "某县人民政府".
    """
    core = _GENERIC.sub(" ", sponsor)
    words = {w for part in core.split() for w in _bigrams(part)}
    return bool(words & _bigrams(name))
