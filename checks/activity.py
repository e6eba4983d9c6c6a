"""Activity rules: dormant (睡眠), zombie (僵尸) and empty shell (空壳) accounts."""

from __future__ import annotations

import math
from datetime import timedelta

from checks.evidence import evidence, finding, lead
from checks.feed import Feed, Item
from checks.model import AccountFacts, Finding
from checks.policy import Policy
from checks.times import fmt, start_of_day


def check_activity(account: AccountFacts, feed: Feed, policy: Policy) -> list[Finding]:
    """Dormant or zombie (zombie supersedes dormant), and empty shell, for an active account."""
    newest = feed.newest
    if newest is None:
        if feed.items:  # items, none dated: published, but when cannot be told
            return []
        return [_never_published(feed, policy)] if policy.empty_shell.enabled else []
    assert newest.published is not None
    idle = feed.at - newest.published
    found: list[Finding] = []
    zombie = policy.zombie.enabled and idle > timedelta(days=policy.zombie.days)
    if zombie:
        found.append(_idle_finding("zombie", feed, newest, policy.zombie.days))
    elif policy.dormant.enabled and idle > timedelta(days=policy.dormant.days):
        found.append(_idle_finding("dormant", feed, newest, policy.dormant.days))
    if policy.empty_shell.enabled and not zombie:
        shell = _few_originals(account, feed, policy)
        if shell is not None:
            found.append(shell)
    return found


def is_repost(item: Item, markers: tuple[str, ...]) -> bool:
    """Whether the post reposts someone else's content (a marker in its title or body)."""
    title, body = item.post.title, item.body
    return any(marker in title or marker in body for marker in markers)


def _idle_finding(code: str, feed: Feed, newest: Item, days: int) -> Finding:
    assert newest.published is not None
    idle_days = (feed.at - newest.published).days
    since = f"最近一次发布于{fmt(newest.published)}（距监测时间点{idle_days}天）"
    if code == "zombie":
        text = f"超过{days}天未更新，{since}，建议整合或关停注销。"
    else:
        text = f"监测时间点（{fmt(feed.at)}）前{days}天内无更新，{since}。"
    return finding(code, text, [evidence(newest, lead(newest))], newest.published)


def _never_published(feed: Feed, policy: Policy) -> Finding:
    return finding("empty_shell", "开通至今未发布任何消息（订阅源可读取，但没有任何内容）。")


def _few_originals(account: AccountFacts, feed: Feed, policy: Policy) -> Finding | None:
    rule = policy.empty_shell
    start = feed.at - timedelta(days=rule.window_days)
    required = rule.min_original_posts
    if account.opened_on is not None and start_of_day(account.opened_on) > start:
        start = start_of_day(account.opened_on)  # a young account: prorate the minimum
        open_days = max((feed.at.date() - account.opened_on).days, 0)
        required = math.ceil(required * open_days / rule.window_days)
    originals = reposts = empties = 0
    for item in feed.since(start):
        if item.empty:
            empties += 1
        elif is_repost(item, rule.repost_markers):
            reposts += 1
        else:
            originals += 1
            if originals >= required:
                return None
    if originals >= required:
        return None
    days = round((feed.at - start) / timedelta(days=1))
    text = (
        f"近{days}天内原创发布{originals}条，少于最低要求{required}条"
        f"（同期转发{reposts}条、空内容{empties}条）。"
    )
    newest = feed.newest
    assert newest is not None
    return finding("empty_shell", text, last_post_at=newest.published)
