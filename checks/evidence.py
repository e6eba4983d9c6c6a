"""Building findings and their evidence; every title and excerpt passes through masking."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from checks.codes import SEVERITY
from checks.feed import Item
from checks.model import Evidence, Finding
from checks.privacy import NUMBER_CHARS, mask_personal_data
from checks.text import clip, squash

_NUMBERISH = frozenset(NUMBER_CHARS)
_MAX_WIDEN = 24


def excerpt_around(text: str, start: int, end: int, width: int) -> str:
    """``text[start:end]`` with ``width`` characters of context each side, masked.

    The whole text is masked before the window is cut (masking keeps offsets): a number cut
    at the window's edge could no longer be recognised, and its visible part would leak. The
    window is widened so that it seldom cuts a number in two.
    """
    left, right = max(0, start - width), min(len(text), end + width)
    limit = max(0, left - _MAX_WIDEN)
    while left > limit and text[left - 1] in _NUMBERISH:
        left -= 1
    limit = min(len(text), right + _MAX_WIDEN)
    while right < limit and text[right] in _NUMBERISH:
        right += 1
    window = squash(mask_personal_data(text)[left:right])
    return ("…" if left else "") + window + ("…" if right < len(text) else "")


def evidence(item: Item, excerpt: str | None = None) -> Evidence:
    """Evidence pointing at one post; ``excerpt`` must already be masked."""
    post = item.post
    return Evidence(
        url=post.url,
        title=mask_personal_data(squash(post.title)) or None,
        published_at=item.published,
        excerpt=excerpt,
    )


def lead(item: Item, limit: int = 60) -> str:
    """The opening of a post's body, masked, for evidence that has no particular hit."""
    return clip(mask_personal_data(item.body), limit)


def finding(
    code: str,
    description: str,
    found: Iterable[Evidence] = (),
    last_post_at: datetime | None = None,
) -> Finding:
    return Finding(code, SEVERITY[code], description, tuple(found), last_post_at)
