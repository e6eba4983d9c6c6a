"""Unreviewed posts (有发布无审核, 先发后审): a complete review must precede publication.

A post published within ``window_days`` before the time point is matched to a review record by
URL, else by normalised title: a record found by title is one that names no other post of the
window by URL, and it vouches for one post only (one record per published post: a daily column
under one title is not cleared by a single record). It is a problem when no record matches,
when a review time is later than the publication time (exact comparison: the same minute
passes, one minute later fails), or when a required level has no review time. Undated posts
cannot be placed in the window and are not judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from checks.evidence import evidence, finding
from checks.feed import Feed, Item
from checks.model import Finding, ReviewRecord
from checks.policy import REVIEW_LEVELS, Policy
from checks.text import normalise_title
from checks.times import aware, fmt

NO_RECORD, LATE, MISSING = "无审核记录", "先发后审", "审核层级不全"


def normalise_url(url: str) -> str:
    """A URL reduced for matching: no scheme, fragment or trailing slash; lower-case host."""
    url = url.strip().split("#", 1)[0]
    scheme_end = url.find("://")
    if scheme_end != -1:
        url = url[scheme_end + 3 :]
    host_end = url.find("/")
    if host_end == -1:
        return url.lower()
    return url[:host_end].lower() + url[host_end:].rstrip("/")


def review_times(record: ReviewRecord) -> dict[str, datetime | None]:
    """Review time per level name (初审, 复审, 终审)."""
    return dict(zip(REVIEW_LEVELS, _times(record), strict=True))


def _times(record: ReviewRecord) -> tuple[datetime | None, datetime | None, datetime | None]:
    """Review times in the order of ``REVIEW_LEVELS``."""
    return record.first_reviewed_at, record.second_reviewed_at, record.final_reviewed_at


def _wall_clock(moment: datetime) -> datetime:
    return datetime.combine(moment, moment.time())  # naive; cheaper than replace()


def _first_passing(
    records: list[ReviewRecord], published: datetime, local: datetime, required: tuple[bool, ...]
) -> ReviewRecord | None:
    """The first of ``records`` whose ``record_problems`` is empty, without building messages.

    ``local`` is the naive Shanghai wall-clock time of ``published``; ``required`` flags the
    required levels in the order of ``REVIEW_LEVELS``.
    """
    for record in records:
        for level, moment in enumerate(_times(record)):
            if moment is None:
                if required[level]:
                    break
            elif moment > (local if moment.tzinfo is None else published):
                break
        else:
            return record
    return None


def record_problems(
    record: ReviewRecord, published: datetime, required: Sequence[str]
) -> list[str]:
    """What is wrong with ``record`` as the review of a post published at ``published``."""
    problems: list[str] = []
    times = review_times(record)
    missing = [level for level in required if times[level] is None]
    if missing:
        problems.append(f"缺少{'、'.join(missing)}")
    published = aware(published)
    local: datetime | None = None  # naive review times are Shanghai wall-clock times
    for level, moment in times.items():
        if moment is None:
            continue
        if moment.tzinfo is None:
            local = local or _wall_clock(published)
            later = moment > local
        else:
            later = moment > published
        if later:
            problems.append(f"{level}时间{fmt(moment)}晚于发布时间{fmt(published)}")
    return problems


class _Index:
    """Review records by URL and by title; the normalised indexes are built only if needed."""

    def __init__(self, reviews: Sequence[ReviewRecord]) -> None:
        self.reviews = reviews
        self.by_raw_url: dict[str, list[ReviewRecord]] = {}
        for record in reviews:
            if record.url:
                self.by_raw_url.setdefault(record.url, []).append(record)
        self._by_url: dict[str, list[ReviewRecord]] | None = None
        self._by_title: dict[str, list[ReviewRecord]] | None = None

    def _build(self, key: str) -> dict[str, list[ReviewRecord]]:
        index: dict[str, list[ReviewRecord]] = {}
        for record in self.reviews:
            value = getattr(record, key)
            if value:
                norm = normalise_url(value) if key == "url" else normalise_title(value)
                index.setdefault(norm, []).append(record)
        return index

    def naming(self, item: Item) -> list[ReviewRecord]:
        """The records whose URL is the post's."""
        url = item.post.url
        if not self.reviews or not url:  # an account without records: nothing to look up
            return []
        found = self.by_raw_url.get(url)
        if found:
            return found
        if self._by_url is None:
            self._by_url = self._build("url")
        return self._by_url.get(normalise_url(url), [])

    def titled(self, item: Item) -> list[ReviewRecord]:
        """The records whose title is the post's."""
        title = item.post.title
        if not self.reviews or not title:
            return []
        if self._by_title is None:
            self._by_title = self._build("title")
        return self._by_title.get(normalise_title(title), [])


def check_reviews(feed: Feed, reviews: Sequence[ReviewRecord], policy: Policy) -> list[Finding]:
    """One ``unreviewed_post`` finding listing every post of the window that fails the rule."""
    rule = policy.unreviewed_post
    posts = feed.since(feed.at - timedelta(days=rule.window_days))
    if not posts:
        return []
    index = _Index(reviews)
    named = [index.naming(item) for item in posts]
    used = {id(record) for records in named for record in records}
    found = []
    counts = {NO_RECORD: 0, LATE: 0, MISSING: 0}
    required = tuple(level in rule.required_levels for level in REVIEW_LEVELS)
    for item, records in zip(posts, named, strict=True):
        published = item.published
        assert published is not None
        by_title = not records
        if by_title:
            records = [r for r in index.titled(item) if id(r) not in used]
        if not records:
            counts[NO_RECORD] += 1
            found.append(evidence(item, NO_RECORD))
            continue
        raw = item.post.published_at  # a naive value is the Shanghai wall-clock time already
        local = raw if raw is not None and raw.tzinfo is None else _wall_clock(published)
        passing = _first_passing(records, published, local, required)
        if passing is not None:
            if by_title:
                used.add(id(passing))  # it vouches for this post, and no other of that title
            continue
        verdicts = [record_problems(r, published, rule.required_levels) for r in records]
        problems = min(verdicts, key=len)
        if problems:
            counts[LATE] += any("晚于" in p for p in problems)
            counts[MISSING] += any(p.startswith("缺少") for p in problems)
            found.append(evidence(item, "；".join(problems)))
    if not found:
        return []
    detail = "，".join(f"{label}{n}条" for label, n in counts.items() if n)
    text = (
        f"监测时间点前{rule.window_days}天内有{len(found)}条发布未经审核或审核不合规"
        f"（{detail}），应先审后发并留存审核记录。"
    )
    return [finding("unreviewed_post", text, found)]
