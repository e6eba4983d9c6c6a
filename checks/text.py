"""Text helpers: HTML to plain text, title normalisation, evidence excerpts."""

from __future__ import annotations

import html
import re
import unicodedata

_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment; every tag becomes a space.

    A space keeps table cells and paragraphs apart (two numbers in adjacent cells must not
    fuse into one); the price is that a word split by an inline tag (``<b>攻</b>府``) is not
    recognised as one. One regular-expression pass: this runs on every post.
    """
    text = markup
    if "<" in text:
        if "<s" in text or "<S" in text or "<!" in text:
            text = _DROP.sub(" ", text)
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
