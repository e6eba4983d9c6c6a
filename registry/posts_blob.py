"""A feed's posts as kept for the next 304 (``feed_states.posts``): JSON, zlib-compressed.

No database here: the parser processes pack what they have just parsed
(``monitor.feed_workers``), so the event loop only stores the bytes.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import datetime

from checks.model import Post


def pack_posts(posts: Sequence[Post]) -> bytes:
    data = [
        [p.title, p.url, p.published_at.isoformat() if p.published_at else None, p.content]
        for p in posts
    ]
    return zlib.compress(json.dumps(data, ensure_ascii=False).encode(), 1)


def unpack_posts(blob: bytes) -> list[Post]:
    return [
        Post(title=t, url=u, published_at=datetime.fromisoformat(d) if d else None, content=c)
        for t, u, d, c in json.loads(zlib.decompress(blob))
    ]
