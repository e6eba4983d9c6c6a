"""Personal data published in full: ID card, mobile and bank card numbers; and their masking.

A candidate is a run of digits (ASCII or full-width) possibly split by spaces or hyphens; its
groups are joined into numbers and classified. Masking keeps the text's length, so offsets found
in the original text stay valid in the masked one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import accumulate

_DIGITS = "0-9０-９"
# the space, and the no-break, en, em, thin, narrow no-break and ideographic spaces
_SPACES = " \xa0\u2002\u2003\u2009\u202f\u3000"
_SEPARATORS = _SPACES + "-－"
_CHECK_X = "XxｘＸ"
_CANDIDATE = re.compile(f"[{_DIGITS}][{_DIGITS}{_SPACES}\\-－]{{9,}}[{_DIGITS}{_CHECK_X}]")
_GROUP = re.compile(f"[{_DIGITS}]+[{_CHECK_X}]?")
_ASCII = str.maketrans("０１２３４５６７８９ｘＸx", "0123456789XXX")
#: every character a written number may hold
NUMBER_CHARS = "0123456789０１２３４５６７８９" + _CHECK_X + _SEPARATORS
#: what the ASCII fast path cannot read: full-width digits, hyphen and X, non-ASCII spaces
_NOT_ASCII_CHARS = "０１２３４５６７８９－ｘＸ" + _SPACES[1:]
# Fast path for text that is not full-width: encode with one byte per character, map the
# characters a candidate may contain to "0" and find runs of eleven or more.
_RUN_BYTES = bytes(48 if chr(i) in "0123456789 -Xx" else 46 for i in range(256))
_RUN = b"0" * 11
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCES = frozenset(  # province-level codes of GB/T 2260 (83: Taiwan residents' permits)
    (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55),
     *range(61, 66), 71, 81, 82, 83)
)  # fmt: skip
_MOBILE = re.compile(r"1[3-9]\d{9}")
#: below this many characters a single search for a candidate run is the fastest "none here"
_SHORT = 300

_NUMBER_LENGTHS = frozenset((11, 13, 16, 17, 18, 19))
ID_CARD, MOBILE, BANK_CARD = "id_card", "mobile", "bank_card"
KIND_LABELS = {ID_CARD: "身份证号", MOBILE: "手机号", BANK_CARD: "银行卡号"}
_Number = tuple[str, int, int, str]  # kind, start, end, digits


@dataclass(frozen=True, slots=True)
class Hit:
    """Personal data at ``text[start:end]``; ``digits`` is the number without separators."""

    kind: str
    start: int
    end: int
    digits: str


def valid_id_number(number: str) -> bool:
    """GB 11643: 17 digits, a check character, a known province and a real birth date."""
    if len(number) != 18 or not number[:17].isdigit() or int(number[:2]) not in _PROVINCES:
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != number[17].upper():
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check used by bank card numbers."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _classify(number: str) -> str | None:
    if len(number) == 18 and valid_id_number(number):
        return ID_CARD
    if not number.isdigit():
        return None
    if len(number) == 11 and _MOBILE.fullmatch(number):
        return MOBILE
    if len(number) == 13 and number.startswith("86") and _MOBILE.fullmatch(number[2:]):
        return MOBILE
    if 16 <= len(number) <= 19 and luhn_valid(number):
        return BANK_CARD
    return None


def _grouping_fits(kind: str, lengths: tuple[int, ...]) -> bool:
    """Whether a number split into groups of ``lengths`` is written the way ``kind`` is."""
    if len(lengths) == 1:
        return True
    if kind == MOBILE:
        return lengths in ((3, 4, 4), (2, 3, 4, 4), (2, 11))
    if kind == ID_CARD:
        return lengths in ((6, 8, 4), (6, 4, 4, 4))
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


def find_personal_data(text: str, kinds: frozenset[str] | None = None) -> list[Hit]:
    """Unmasked ID card, mobile and bank card numbers in ``text``, in order."""
    return _hits(_numbers(text), kinds)


def _hits(
    stretches: list[tuple[int, tuple[_Number, ...]]], kinds: frozenset[str] | None
) -> list[Hit]:
    hits = []
    for base, numbers in stretches:
        for kind, start, end, digits in numbers:
            if kinds is None or kind in kinds:
                hits.append(Hit(kind, base + start, base + end, digits))
    return hits


def find_personal_data_each(
    texts: Sequence[str], kinds: frozenset[str] | None = None
) -> list[list[Hit]]:
    """``find_personal_data`` of each text, in one scan of them all when none is full-width."""
    joined = "\n".join(texts)  # no candidate run crosses a line break
    if _needs_full_scan(joined):
        return [find_personal_data(text, kinds) for text in texts]
    found: list[list[Hit]] = [[] for _ in texts]
    hits = _hits(_ascii_numbers(joined), kinds)
    if hits:
        starts = list(accumulate((len(text) + 1 for text in texts[:-1]), initial=0))
        for hit in hits:
            index = bisect_right(starts, hit.start) - 1
            base = starts[index]
            found[index].append(Hit(hit.kind, hit.start - base, hit.end - base, hit.digits))
    return found


def _needs_full_scan(text: str) -> bool:
    """Whether ``text`` holds a character of a number that the ASCII fast path cannot read.
    A substring search each: a regular expression is five times slower.
    """
    return any(char in text for char in _NOT_ASCII_CHARS)


def _numbers(text: str) -> list[tuple[int, tuple[_Number, ...]]]:
    """(offset, numbers) of the stretches of ``text`` that hold numbers."""
    if len(text) < _SHORT and not _CANDIDATE.search(text):
        return []  # every number lies in a candidate run; for a title one search says none
    if _needs_full_scan(text):
        return [(0, _scan(text))]
    return _ascii_numbers(text)


def _ascii_numbers(text: str) -> list[tuple[int, tuple[_Number, ...]]]:
    """``_numbers`` of a text without full-width characters."""
    found = []
    mapped = text.encode("ascii", "replace").translate(_RUN_BYTES)  # one byte per character
    start = mapped.find(_RUN)
    while start != -1:
        end = mapped.find(b".", start)
        if end == -1:
            end = len(mapped)
        numbers = _scan_stretch(text[start:end])
        if numbers:
            found.append((start, numbers))
        start = mapped.find(_RUN, end)
    return found


def _scan(text: str) -> tuple[_Number, ...]:
    """The numbers of every candidate run in ``text``, with offsets into it."""
    found: list[_Number] = []
    for run in _CANDIDATE.finditer(text):
        base = run.start()
        found += ((k, base + s, base + e, d) for k, s, e, d in _numbers_in_run(run[0]))
    return tuple(found)


#: ``_scan`` of the short digit stretches of the fast path (hotlines recur across posts).
_scan_stretch = lru_cache(maxsize=4096)(_scan)


@lru_cache(maxsize=4096)
def _numbers_in_run(run: str) -> tuple[_Number, ...]:
    """The numbers written in one candidate run (memoised: hotlines recur across posts)."""
    groups = [(g.start(), g.end(), g[0].translate(_ASCII)) for g in _GROUP.finditer(run)]
    found: list[_Number] = []
    first = 0
    while first < len(groups):
        best = None
        number = ""
        for last in range(first, len(groups)):
            number += groups[last][2]
            if len(number) > 19:
                break
            if len(number) not in _NUMBER_LENGTHS:
                continue
            kind = _classify(number)
            lengths = tuple(len(g[2]) for g in groups[first : last + 1])
            if kind is not None and _grouping_fits(kind, lengths):
                best = (kind, last, number)
        if best is None:
            first += 1
            continue
        kind, last, number = best
        found.append((kind, groups[first][0], groups[last][1], number))
        first = last + 1
    return tuple(found)


def _mask_span(span: str, kind: str, number: str) -> str:
    keep_head, keep_tail = {ID_CARD: (2, 3), MOBILE: (3, 4), BANK_CARD: (4, 4)}[kind]
    if kind == MOBILE and len(number) == 13:
        keep_head = 5  # 86 country code, then the 3-digit prefix
    hidden = len(number) - keep_head - keep_tail
    out, seen = [], 0
    for char in span:
        if char in _SEPARATORS:
            out.append(char)
            continue
        out.append("*" if keep_head <= seen < keep_head + hidden else char)
        seen += 1
    return "".join(out)


def mask_personal_data(text: str) -> str:
    """``text`` with every unmasked ID card, mobile and bank card number masked (same length)."""
    hits = find_personal_data(text)
    if not hits:
        return text
    parts, cursor = [], 0
    for hit in hits:
        parts.append(text[cursor : hit.start])
        parts.append(_mask_span(text[hit.start : hit.end], hit.kind, hit.digits))
        cursor = hit.end
    parts.append(text[cursor:])
    return "".join(parts)
