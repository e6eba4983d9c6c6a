"""Text helpers: HTML to plain text, title normalisation, evidence excerpts."""

from __future__ import annotations

import html
import re
import unicodedata

_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_DROP_END = re.compile(r"</[sS](?:[cC][rR]|[tT][yY])")  # every dropped script or style has one
_TAG = re.compile(r"<[^>]*>")
_TAG_PAIR = re.compile(r"<[^>]*><[^>]*>")
_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: scripts, styles and comments dropped, tags made spaces.

    A space keeps table cells and paragraphs apart (two numbers in adjacent cells must not
    fuse into one); the price is that a word split by an inline tag (``<b>攻</b>府``) is not
    recognised as one. This runs on every post, and a match costs far more than the characters
    it spans: the dropping pass runs only when its cheap necessary condition holds, and
    adjacent tags (``</span></p>``) go two at a time first, with the same result.
    """
    text = markup
    if "<" in text:
        if "!" in text or _DROP_END.search(text):  # a comment has a "!"
            text = _DROP.sub(" ", text)
        text = _TAG_PAIR.sub("  ", text)
        if "<" in text:
            text = _TAG.sub(" ", text)
    return html.unescape(text) if "&" in text else text


def normalise_title(title: str) -> str:
    """A title reduced for matching: NFKC, lower case, no whitespace, punctuation or symbols."""
    folded = unicodedata.normalize("NFKC", html.unescape(title)).lower()
    return _NOT_WORD.sub("", folded)


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space."""
    return _SPACE.sub(" ", text).strip()


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text`` (whitespace squashed), with an ellipsis if cut."""
    flat = squash(text)
    return flat if len(flat) <= limit else flat[:limit] + "…"
