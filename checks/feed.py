"""A feed prepared once per inspection: times made aware, bodies turned into plain text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from checks.model import Post
from checks.text import html_to_text
from checks.times import aware


@dataclass(frozen=True, slots=True)
class Item:
    """One post as the rules see it."""

    post: Post
    published: datetime | None  # aware, Asia/Shanghai; None when the item carried no date
    body: str  # plain text of the content

    @property
    def text(self) -> str:
        """Title and body, the text that content rules scan."""
        return f"{self.post.title}\n{self.body}"

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
        published = aware(post.published_at) if post.published_at is not None else None
        if published is not None and published > moment:
            continue
        items.append(Item(post, published, html_to_text(post.content)))
    dated = sorted((i for i in items if i.published is not None), key=_when, reverse=True)
    return Feed(moment, tuple(items), tuple(dated))


def _when(item: Item) -> datetime:
    assert item.published is not None
    return item.published
