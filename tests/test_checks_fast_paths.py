"""Property tests: the fast paths of the inspection rules give the results of the plain
definitions they replace (text extraction, personal data, the matcher's gate, review times)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from hypothesis import given, settings
from hypothesis import strategies as st

from checks.matcher import WIDE_ROOT, Matcher
from checks.model import ReviewRecord
from checks.policy import REVIEW_LEVELS
from checks.privacy import _scan, find_personal_data, find_personal_data_each
from checks.review import _first_passing, record_problems
from checks.text import html_to_text
from checks.times import SHANGHAI

# Markup made of the pieces that matter to the regular expressions: tag delimiters, the names
# of dropped elements in mixed case, comments, entities, digits and separators, Chinese text.
_MARKUP_PIECES = [
    "<", ">", "</", "<p>", "</p>", '<span style="x:1">', "</span>", "<br/>", "<b>", "</b>",
    "<script>", "</script>", "<SCRIPT>", "</Script >", "<style>", "</style>", "<sTyLe>",
    "<!--", "-->", "&amp;", "&#49;", "&lt;", "1", "38", "1234", "5678", " ", "-", "x",
    "政府", "攻府", "\n",
]  # fmt: skip
markup = st.lists(st.sampled_from(_MARKUP_PIECES), max_size=40).map("".join)


def _plain_html_to_text(text: str) -> str:
    """The definition: drop scripts, styles and comments, every tag becomes a space."""
    text = re.sub(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", " ", text, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]*>", " ", text))


@settings(max_examples=500)
@given(markup)
def test_html_to_text_matches_its_definition(text: str) -> None:
    assert html_to_text(text) == _plain_html_to_text(text)


def test_adjacent_tags_each_become_a_space() -> None:
    assert html_to_text("<td>138</td><td>1234</td>") == " 138  1234 "
    assert html_to_text("a<b<c>d>e") == "a d>e"


# Text for the privacy scan: numbers cut into groups by various separators, between filler,
# their digits ASCII or full-width (a bank card number of digits 3-9 only included).
_NUMBERS = {  # number: group lengths it is written in
    "13812345678": (3, 4, 4),
    "8613912345678": (2, 3, 4, 4),
    "11010519491231002X": (6, 4, 4, 4),
    "4111111111111111": (4, 4, 4, 4),
    "02886123456": (3, 8),
    "4539453945394537": (4, 4, 4, 4),  # no 0, 1 or 2
}
_FILLER = ["", "电话", "，", "\n", " ", "-", "x", "X", "1", "2026", "138", "1234"]
_SEPARATORS = ["", " ", "  ", "-", "－", " - ", "\xa0", "\u3000", "\xa0 "]
_FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


@st.composite
def numbers_text(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        parts.append(draw(st.sampled_from(_FILLER)))
        number = draw(st.sampled_from(sorted(_NUMBERS)))
        if draw(st.booleans()):
            ends = list(accumulate(_NUMBERS[number]))[:-1]
        else:
            ends = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=4)))
        groups = [number[i:j] for i, j in zip([0, *ends], [*ends, len(number)], strict=True)]
        written = draw(st.sampled_from(_SEPARATORS)).join(groups)
        parts.append(written.translate(_FULL_WIDTH) if draw(st.booleans()) else written)
    parts.append(draw(st.sampled_from(_FILLER)))
    return "".join(parts)


@settings(max_examples=500)
@given(numbers_text())
def test_personal_data_fast_path_matches_a_full_scan(text: str) -> None:
    found = [(hit.kind, hit.start, hit.end, hit.digits) for hit in find_personal_data(text)]
    assert found == list(_scan(text))


@settings(max_examples=200)
@given(st.lists(numbers_text(), max_size=5))
def test_personal_data_of_several_texts_is_that_of_each(texts: list[str]) -> None:
    assert find_personal_data_each(texts) == [find_personal_data(text) for text in texts]
    assert find_personal_data_each(texts, frozenset({"mobile"})) == [
        find_personal_data(text, frozenset({"mobile"})) for text in texts
    ]


# Keys and other terms over a few characters, some of them special in regular expressions.
_CHARS = "政府攻俯党委伟国务院-]^\\"
_terms = st.text(alphabet=_CHARS, min_size=1, max_size=4)


@settings(max_examples=300)
@given(
    st.sets(_terms.filter(lambda k: len(k) >= 2), min_size=1, max_size=12),
    st.sets(_terms, max_size=6),
    st.text(alphabet=_CHARS + "的 ", max_size=40),
)
def test_gate_passes_exactly_the_texts_that_hold_a_key(
    keys: set[str], others: set[str], text: str
) -> None:
    entries = [(term, term) for term in sorted(keys | others)]
    gated = Matcher(entries, gate=keys)
    assert gated._gate is not None
    expected = Matcher(entries).find(text) if any(key in text for key in keys) else []
    assert gated.find(text) == expected


@settings(max_examples=200)
@given(
    st.sets(_terms.filter(lambda k: len(k) >= 2), min_size=1, max_size=8),
    st.lists(st.text(alphabet=_CHARS + "的\n", max_size=12), max_size=5),
)
def test_gate_over_several_texts_is_that_of_each(keys: set[str], texts: list[str]) -> None:
    matcher = Matcher([(key, key) for key in sorted(keys | {"国\n政"})], gate=keys)
    assert matcher.find_each(texts) == [matcher.find(text) for text in texts]


def _leftmost_longest(terms: set[str], text: str) -> list[tuple[int, int, str]]:
    """The definition: from left to right, the longest term starting here, then past it."""
    found, i = [], 0
    while i < len(text):
        term = max((t for t in terms if text.startswith(t, i)), key=len, default=None)
        if term is None:
            i += 1
            continue
        found.append((i, i + len(term), term))
        i += len(term)
    return found


# Many first characters absent from the texts: the matcher then runs on UTF-8 bytes.
_WIDE = {chr(0x9000 + k) + "字" for k in range(WIDE_ROOT + 1)}


@settings(max_examples=400)
@given(
    st.sets(st.text(alphabet="政府攻党", min_size=1, max_size=3), min_size=1, max_size=6),
    st.text(alphabet="政府攻党", max_size=12),
    st.booleans(),
)
def test_matcher_finds_the_leftmost_longest_terms(terms: set[str], text: str, wide: bool) -> None:
    entries = sorted(terms | _WIDE) if wide else sorted(terms)
    matcher = Matcher([(term, term) for term in entries])
    assert matcher._utf8 is wide
    found = [(m.start, m.end, m.term) for m in matcher.find(text)]
    assert found == _leftmost_longest(terms, text)


# Review times around a publication at 10:00 Shanghai time: naive (Shanghai) or in UTC.
_PUBLISHED = datetime(2026, 3, 30, 10, 0, tzinfo=SHANGHAI)
_review_time = st.one_of(
    st.none(),
    st.integers(-3, 3).map(lambda m: datetime(2026, 3, 30, 10, 0) + timedelta(minutes=m)),
    st.integers(-3, 3).map(
        lambda m: datetime(2026, 3, 30, 2, 0, tzinfo=UTC) + timedelta(minutes=m)
    ),
)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(_review_time, _review_time, _review_time), min_size=1, max_size=3),
    st.sets(st.sampled_from(REVIEW_LEVELS)),
)
def test_review_fast_check_agrees_with_the_problems_it_skips(
    times: list[tuple[datetime | None, ...]], levels: set[str]
) -> None:
    records = [
        ReviewRecord(first_reviewed_at=a, second_reviewed_at=b, final_reviewed_at=c)
        for a, b, c in times
    ]
    required = tuple(level in levels for level in REVIEW_LEVELS)
    local = _PUBLISHED.replace(tzinfo=None)
    passes = _first_passing(records, _PUBLISHED, local, required) is not None
    ordered = [level for level in REVIEW_LEVELS if level in levels]
    assert passes == any(not record_problems(r, _PUBLISHED, ordered) for r in records)
