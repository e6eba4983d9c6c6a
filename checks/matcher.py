"""Multi-pattern matching over Chinese text with pyahocorasick.

pyahocorasick scans a node's children linearly, so a trie whose root has thousands of children
(a large dictionary of Chinese terms) costs thousands of comparisons per character. Above a
threshold of distinct first characters the matcher therefore runs on the UTF-8 bytes of the text
(at most 256 children per node, three bytes per Chinese character), which keeps the cost per
character bounded whatever the dictionary size; UTF-8 never matches across character boundaries.
A caller may also name gate keys: short substrings, one inside every term whose match matters
(for a typo, the two characters around it). When there are few, one regular-expression scan
(over all the texts of a batch at once) rejects the texts that contain none of them before the
automaton runs; most texts contain no error at all.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Generic, TypeVar

import ahocorasick

V = TypeVar("V")

#: Distinct first characters above which the UTF-8 encoding is faster (measured: 40 to 60).
WIDE_ROOT = 48
#: Gate keys up to which the regular-expression gate pays off.
GATE_KEYS = 256
#: Appended to every text searched: pyahocorasick 2.x's ``iter_long`` drops a match that ends
#: the text while a longer term is still open there (terms ``攻`` and ``攻府``, text ``…攻``).
_END = "\x00"


@dataclass(frozen=True, slots=True)
class Match(Generic[V]):
    """A dictionary term found in a text: ``text[start:end] == term``."""

    start: int
    end: int
    term: str
    value: V


def _utf8(term: str) -> str:
    """The UTF-8 bytes of ``term`` as a str of code points below 256 (what pyahocorasick takes)."""
    return term.encode("utf-8", "surrogatepass").decode("latin-1")


class Matcher(Generic[V]):
    """Leftmost-longest, non-overlapping matches of many terms in one pass over the text."""

    __slots__ = ("_automaton", "_gate", "_utf8", "size")

    def __init__(self, entries: Iterable[tuple[str, V]], gate: Iterable[str] | None = None) -> None:
        terms: dict[str, V] = {}
        for term, value in entries:
            if term and _END not in term:
                terms.setdefault(term, value)
        self.size = len(terms)
        self._utf8 = len({term[0] for term in terms}) > WIDE_ROOT
        automaton = ahocorasick.Automaton()
        for term, value in terms.items():
            automaton.add_word(_utf8(term) if self._utf8 else term, (term, value))
        if terms:
            automaton.make_automaton()
        self._automaton = automaton
        keys = set(gate) if gate is not None else set()
        self._gate = (
            _gate_pattern(keys)
            if terms and gate is not None and all(keys) and len(keys) <= GATE_KEYS
            else None
        )

    def find_each(self, texts: Sequence[str]) -> list[list[Match[V]]]:
        """``find`` of each text; one gate scan of them all skips the texts before a key.

        A key found across two joined texts only costs the text-by-text search.
        """
        if self._gate is None:
            return [self.find(text) for text in texts]
        hit = self._gate.search("\n".join(texts))
        if hit is None:
            return [[] for _ in texts]
        starts = accumulate((len(text) + 1 for text in texts), initial=0)
        first = bisect_right(list(starts), hit.start()) - 1  # the text of the leftmost key
        return [[] for _ in texts[:first]] + [self.find(text) for text in texts[first:]]

    def find(self, text: str) -> list[Match[V]]:
        """All matches in ``text``, in order of position."""
        if not self.size or not text:
            return []
        if self._gate is not None and self._gate.search(text) is None:
            return []
        found: list[Match[V]] = []
        if self._utf8:
            raw = text.encode("utf-8", "surrogatepass")
            chars = seen = 0  # the characters of raw[:seen]
            for last, (term, value) in self._automaton.iter_long(raw.decode("latin-1") + _END):
                chars += len(raw[seen : last + 1].decode("utf-8", "surrogatepass"))
                seen = last + 1
                found.append(Match(chars - len(term), chars, term, value))
        else:
            for last, (term, value) in self._automaton.iter_long(text + _END):
                found.append(Match(last + 1 - len(term), last + 1, term, value))
        return found


def _gate_pattern(keys: set[str]) -> re.Pattern[str]:
    """A pattern found in a text exactly when one of ``keys`` is.

    The scan stops only where a key's first character is followed by some key's second one,
    then one look-behind rejects pairs that open no key; longer keys check their rest ahead.
    One-character keys need a plain alternation.
    """
    if any(len(key) < 2 for key in keys):
        return re.compile("|".join(map(re.escape, sorted(keys, key=len, reverse=True))))
    firsts = "".join(sorted({re.escape(key[0]) for key in keys}))
    seconds = "".join(sorted({re.escape(key[1]) for key in keys}))
    pairs = "|".join(sorted({re.escape(key[:2]) for key in keys}))
    pattern = f"[{firsts}][{seconds}](?<={pairs})"
    if any(len(key) > 2 for key in keys):
        ends = (
            f"(?<={re.escape(k[:2])})" + (f"(?={re.escape(k[2:])})" if k[2:] else "")
            for k in sorted(keys)
        )
        pattern += f"(?:{'|'.join(ends)})"
    return re.compile(pattern)
