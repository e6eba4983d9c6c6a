"""Rules on the registry's facts: no interaction, filing mismatch, unreachable account."""

from __future__ import annotations

from datetime import timedelta

from checks.evidence import evidence, finding, lead
from checks.feed import Feed
from checks.model import AccountFacts, FetchStatus, Finding
from checks.policy import Policy
from checks.times import fmt, start_of_day

ACTIVE, CLOSED, DEREGISTERED = "正常", "关停", "注销"
_MAX_EVIDENCE = 10


def check_interaction(account: AccountFacts) -> list[Finding]:
    """``no_interaction`` when the registry records no interaction function."""
    if account.interaction:
        return []
    text = "备案信息显示该账号未提供有效互动功能（留言、评论或私信等），不符合政务新媒体互动要求。"
    return [finding("no_interaction", text)]


def check_unreachable(account: AccountFacts, status: FetchStatus | None) -> list[Finding]:
    """``unreachable`` when an account filed as active has a page or feed that is gone."""
    if status is not FetchStatus.GONE or account.status != ACTIVE:
        return []
    text = (
        "账号备案状态为正常，但其主页或订阅地址已不存在（404/410），"
        "疑似已停止运营或注销而未向主管单位备案。"
    )
    return [finding("unreachable", text)]


def check_filing(account: AccountFacts, feed: Feed, policy: Policy) -> list[Finding]:
    """``filing_mismatch`` when an account filed as closed or deregistered still publishes.

    Posts count when published after the day the closure took effect; when that day is unknown,
    within the dormant window before the time point.
    """
    if account.status not in (CLOSED, DEREGISTERED):
        return []
    if account.status_since is not None:
        start = start_of_day(account.status_since + timedelta(days=1))
        lead_in = f"账号已于{account.status_since.isoformat()}备案{account.status}，但此后仍"
    else:
        start = feed.at - timedelta(days=policy.dormant.days)
        lead_in = (
            f"账号备案状态为{account.status}（生效日期未知），"
            f"但监测时间点前{policy.dormant.days}天内仍"
        )
    posts = feed.since(start)
    if not posts:
        return []
    newest = posts[0]
    assert newest.published is not None
    text = (
        f"{lead_in}发布{len(posts)}条内容，最近一次发布于{fmt(newest.published)}，"
        "备案状态与实际不符。"
    )
    found = [evidence(item, lead(item)) for item in posts[:_MAX_EVIDENCE]]
    return [finding("filing_mismatch", text, found)]
