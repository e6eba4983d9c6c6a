"""Multi-pattern matching over Chinese text with pyahocorasick.

pyahocorasick scans a node's children linearly, so a trie whose root has thousands of children
(a large dictionary of Chinese terms) costs thousands of comparisons per character. Above a
threshold of distinct first characters the matcher therefore runs on the UTF-32 code units of the
text (four units per character, at most 256 children per node), which keeps the cost per
character bounded whatever the dictionary size. A caller may also name gate keys:
short substrings, one inside every term whose match matters (for a typo, the two characters
around it). When there are few, one regular-expression scan rejects the texts that contain
none of them before the automaton runs; most texts contain no error at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

V = TypeVar("V")

#: Distinct first characters above which the UTF-32 encoding is faster (measured in bench/).
WIDE_ROOT = 128
#: Gate keys up to which the regular-expression gate pays off.
GATE_KEYS = 256


@dataclass(frozen=True, slots=True)
class Match(Generic[V]):
    """A dictionary term found in a text: ``text[start:end] == term``."""

    start: int
    end: int
    term: str
    value: V


def _utf32(text: str) -> str:
    return text.encode("utf-32-be").decode("latin-1")


class Matcher(Generic[V]):
    """Leftmost-longest, non-overlapping matches of many terms in one pass over the text."""

    __slots__ = ("_automaton", "_gate", "_wide", "size")

    def __init__(self, entries: Iterable[tuple[str, V]], gate: Iterable[str] | None = None) -> None:
        terms: dict[str, V] = {}
        for term, value in entries:
            if term:
                terms.setdefault(term, value)
        self.size = len(terms)
        self._wide = len({term[0] for term in terms}) > WIDE_ROOT
        automaton = ahocorasick.Automaton()
        for term, value in terms.items():
            automaton.add_word(_utf32(term) if self._wide else term, (term, value))
        if terms:
            automaton.make_automaton()
        self._automaton = automaton
        keys = sorted(set(gate), key=len, reverse=True) if gate is not None else []
        self._gate = (
            re.compile("|".join(map(re.escape, keys)))
            if terms and gate is not None and all(keys) and len(keys) <= GATE_KEYS
            else None
        )

    def find(self, text: str) -> list[Match[V]]:
        """All matches in ``text``, in order of position."""
        if not self.size or not text:
            return []
        if self._gate is not None and self._gate.search(text) is None:
            return []
        found: list[Match[V]] = []
        if self._wide:
            for last, (term, value) in self._automaton.iter_long(_utf32(text)):
                if (last + 1) % 4:
                    continue  # not aligned on a character boundary
                end = (last + 1) // 4
                found.append(Match(end - len(term), end, term, value))
        else:
            for last, (term, value) in self._automaton.iter_long(text):
                found.append(Match(last + 1 - len(term), last + 1, term, value))
        return found
