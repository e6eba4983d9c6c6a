"""The copy of a feed kept for the next 304 (``feed_states.posts``): the document itself.

A feed the server compressed (gzip or deflate) is kept exactly as it came off the wire, so
keeping it costs nothing; any other is zlib-compressed (by the parser processes, see
``monitor.feed_workers``). A 304 parses the copy again. Rows written before this format hold the
parsed posts as zlib-compressed JSON: ``unpack`` still reads them.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime

from checks.model import Post

_MAGIC = b"govmedia-feed/1\n"


@dataclass(frozen=True, slots=True)
class FeedCopy:
    body: bytes  # encoded in ``coding``
    coding: str  # an HTTP content coding: gzip or deflate
    content_type: str | None


def pack(body: bytes, coding: str, content_type: str | None) -> bytes:
    """The stored form of a body received in ``coding`` (``identity``: not compressed)."""
    if coding not in ("gzip", "x-gzip", "deflate"):
        body, coding = zlib.compress(body, 1), "deflate"
    header = json.dumps([coding, content_type], ensure_ascii=False).encode()
    return _MAGIC + header + b"\n" + body


def unpack(blob: bytes) -> FeedCopy | list[Post]:
    """The kept document, or the posts an older version kept."""
    if not blob.startswith(_MAGIC):
        return _legacy_posts(blob)
    header, _, body = blob[len(_MAGIC) :].partition(b"\n")
    coding, content_type = json.loads(header)
    return FeedCopy(body, coding, content_type)


def _legacy_posts(blob: bytes) -> list[Post]:
    return [
        Post(title=t, url=u, published_at=datetime.fromisoformat(d) if d else None, content=c)
        for t, u, d, c in json.loads(zlib.decompress(blob))
    ]
