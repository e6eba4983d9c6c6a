"""Wording dictionaries: parsing (pure), the built-in list (package data) and office files (I/O)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple


class WordingTerm(NamedTuple):
    """A wrong term and its correction; ``correction`` is ``None`` for an allowed phrase."""

    term: str
    correction: str | None


def parse_dictionary(text: str, source: str = "<dictionary>") -> tuple[WordingTerm, ...]:
    """Entries of a dictionary file (``wrong<TAB>right``, ``!allowed phrase``, ``#`` comments)."""
    entries: list[WordingTerm] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("!"):
            entries.append(WordingTerm(line[1:].strip(), None))  # as written, like the posts
            continue
        parts = [part.strip() for part in line.split("\t") if part.strip()]
        if len(parts) != 2:
            raise ValueError(f"{source}:{number}: expected 'wrong<TAB>right', got {raw!r}")
        entries.append(WordingTerm(parts[0], parts[1]))
    return tuple(entries)


@cache
def builtin_dictionary() -> tuple[WordingTerm, ...]:
    """The built-in list shipped as ``checks/data/wording.txt`` (read once per process)."""
    text = resources.files("checks").joinpath("data/wording.txt").read_text(encoding="utf-8")
    return parse_dictionary(text, "checks/data/wording.txt")


def load_dictionary(path: str | Path) -> tuple[WordingTerm, ...]:
    """Read an office's dictionary file (UTF-8); raises ``ValueError`` naming file and line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{file}: cannot read wording dictionary: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{file}: wording dictionary is not UTF-8 text ({exc.reason})") from exc
    return parse_dictionary(text, str(file))
