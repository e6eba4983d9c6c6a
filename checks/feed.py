"""A feed prepared once per inspection: times made aware, bodies turned into plain text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from checks.model import Post
from checks.text import html_to_text
from checks.times import aware

_PUBLISHED = attrgetter("published")


@dataclass(slots=True)
class Item:
    """One post as the rules see it; ``text`` (title and body) is what content rules scan.

    Read-only by convention: not frozen, because a frozen dataclass is three times slower to
    build and one is built per post on the hot path.
    """

    post: Post
    published: datetime | None  # aware, Asia/Shanghai; None when the item carried no date
    body: str  # plain text of the content
    text: str  # f"{title}\n{body}", built once and shared by every content rule

    @property
    def empty(self) -> bool:
        return not self.post.title.strip() and not self.body.strip()


@dataclass(frozen=True, slots=True)
class Feed:
    """The posts visible at the time point: items dated after it are dropped."""

    at: datetime
    items: tuple[Item, ...]  # feed order, undated ones included
    dated: tuple[Item, ...]  # newest first

    @property
    def newest(self) -> Item | None:
        return self.dated[0] if self.dated else None

    def since(self, start: datetime) -> list[Item]:
        """Dated items published at or after ``start`` (and not after the time point)."""
        return [i for i in self.dated if i.published is not None and i.published >= start]


def prepare(posts: Sequence[Post], at: datetime) -> Feed:
    """The feed of ``posts`` as seen at ``at`` (which may be naive: Asia/Shanghai)."""
    moment = aware(at)
    items = []
    for post in posts:
        published = post.published_at
        if published is not None:
            published = aware(published)
            if published > moment:
                continue
        body = html_to_text(post.content)
        items.append(Item(post, published, body, f"{post.title}\n{body}"))
    dated = sorted([i for i in items if i.published is not None], key=_PUBLISHED, reverse=True)
    return Feed(moment, tuple(items), tuple(dated))
